"""Held-out evaluation of the compatibility bundle: Polyvore's protocol, complementary-item
retrieval, and whether the learned scorer helps the recommender.

* **Compatibility / FITB** (``auc``, ``accuracy``, ``fitb_acc``): the held-out Polyvore-format
  split's fixed questions. Item features come from the bundle's own encoder
  (``preprocessing.encoder``); for kind ``garments``, the ingestion models' records of the
  held-out item images (:func:`wardrobe.ingestion.describe.describe_catalogue`), as the store
  would hold them, turned into rows by the same function serving uses.

For a ``garments`` bundle on SynthWardrobe (whose Polyvore folder carries its items' true labels,
so the hidden stylist rule can judge any outfit of them; :func:`heldout_specs`), also:

* **Complementary-item retrieval** (``retrieval_recall10``, ``retrieval_rule_hit10_*``): for each
  held-out test outfit, one item (a seeded random position) is blanked and every held-out item
  the store files under that slot is ranked for "what goes with the rest": recall@10 of the
  blanked item by the learned net, and, for the rules, the net and their blend, the share of the
  top 10 that the stylist rule accepts in the outfit.
* **Recommender hit rate** (``hit10_rules``, ``hit10_learned``, ``hit10_blend_<w>``): held-out
  wardrobes (random subsets of the held-out items) in a real SQLite + Chroma store; the share of
  each top-10 recommendation that the stylist rule accepts, for rules only, the learned net only,
  and blends (``w`` = the learned weight, rules ``1 - w``).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from wardrobe.artifacts import Bundle, load_bundle, read_meta
from wardrobe.data.formats.attributes import read_attribute_rows
from wardrobe.data.formats.polyvore import read_outfits
from wardrobe.data.garment_features import garment_features
from wardrobe.data.item_features import GARMENTS
from wardrobe.data.polyvore_datamodule import PolyvoreDataModule
from wardrobe.data.synthetic.generate import CATALOGUE_LABELS, spec_from_row
from wardrobe.data.synthetic.outfits import is_compatible
from wardrobe.data.synthetic.spec import GarmentSpec
from wardrobe.ingestion.describe import Described, build_item_encoder, describe_catalogue
from wardrobe.models.compatibility_module import ENCODER_SHA_KEY, OutfitCompatibilityModule
from wardrobe.recommendation import Recommender, RecommendSettings
from wardrobe.recommendation.index import WardrobeIndex
from wardrobe.recommendation.scoring import LearnedScorer, RuleScorer
from wardrobe.store import GarmentIn, GarmentRepository, RecordStore, VectorStore

# evaluation only: the module wants an optimiser config it will never use here
_UNUSED_OPTIMIZER = {"_target_": "torch.optim.AdamW", "_partial_": True}
LEARNED_WEIGHTS = (0.4, 0.7)  # blends compared with rules only and learned only
WARDROBES, WARDROBE_SIZE, TOP_K, SEED = 12, 80, 10, 0


def evaluate_compatibility(
    bundle: Bundle, data_dir: Path, out_dir: Path, batch_size: int = 64
) -> tuple[dict[str, float], list[Path]]:
    """AUC, accuracy and FITB accuracy on the held-out split's fixed questions (and, for a
    ``garments`` bundle on SynthWardrobe, retrieval and recommender hit rates)."""
    pre = bundle.preprocessing
    encoder = pre["encoder"]
    described = None
    if encoder.get("kind") == GARMENTS:
        ids, described = _described(encoder, pre, Path(data_dir))
        rows = garment_features(
            described.records,
            encoder["parts"],
            described.image_embeddings,
            described.text_embeddings,
        )
        dm = PolyvoreDataModule.from_features(
            data_dir,
            dict(zip(ids, torch.from_numpy(rows), strict=True)),
            batch_size=batch_size,
            feature_dim=pre["feature_dim"],
            max_items=pre["max_items"],
        )
    else:
        dm = PolyvoreDataModule(
            data_dir=str(data_dir),
            batch_size=batch_size,
            encoder=encoder,
            build_encoder=build_item_encoder,
            feature_dim=pre["feature_dim"],
            max_items=pre["max_items"],
            generate_if_missing=False,
        )
    module = OutfitCompatibilityModule(net=bundle.net, optimizer=_UNUSED_OPTIMIZER)
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    (results,) = trainer.test(module, datamodule=dm, verbose=False)
    metrics = {
        "accuracy": results["test/acc"],
        "auc": results["test/auc"],
        "fitb_acc": results["test/fitb_acc"],
        "questions": results.get("test/compat_questions", float("nan")),
    }
    specs = heldout_specs(Path(data_dir))
    if described is not None and specs:
        metrics |= outfit_studies(bundle, Path(data_dir), ids, described, specs)
    return metrics, []


def _described(
    encoder: Mapping[str, Any], pre: Mapping[str, Any], data_dir: Path
) -> tuple[list[str], Described]:
    """The held-out items' records, made by the very models the bundle was trained on."""
    clip = read_meta(Path(encoder["path"]) / "clip")["weights_sha256"]
    if pre.get(ENCODER_SHA_KEY) and pre[ENCODER_SHA_KEY] != clip:
        raise ValueError(
            f"the compatibility bundle was trained on CLIP weights {pre[ENCODER_SHA_KEY][:12]}, "
            f"{encoder['path']}/clip holds {clip[:12]}: retrain the compatibility model"
        )
    return describe_catalogue(data_dir / "images", encoder["path"])


def heldout_specs(data_dir: Path) -> dict[str, GarmentSpec]:
    """``{item_id: GarmentSpec}`` of a SynthWardrobe Polyvore folder (from the labels file the
    generator writes beside its items); empty when it is not one."""
    path = data_dir / CATALOGUE_LABELS
    if not path.is_file():
        return {}  # not SynthWardrobe: the rule cannot judge these items
    rows, _ = read_attribute_rows(path)
    return {Path(r.image).stem: spec_from_row(r) for r in rows}


# ------------------------------------------------------------------------ the store
def garment_records(ids: Sequence[str], described: Described) -> list[GarmentIn]:
    """The held-out items as the garment records ingestion would store."""
    return [
        GarmentIn(id=i, image_sha256=hashlib.sha256(i.encode()).hexdigest(), **record)
        for i, record in zip(ids, described.records, strict=True)
    ]


def _store(root: Path, dim: int) -> GarmentRepository:
    records = RecordStore(f"sqlite:///{root / 'records.db'}")
    return GarmentRepository(records, VectorStore.embedded(str(root / "chroma"), dim=dim))


def _recommender(repo, bundle, clip_sha, text_embedder, learned: float) -> Recommender:
    """``learned`` = the learned net's blend weight (0: rules only; 1: learned only)."""
    base = RecommendSettings()
    settings = base.model_copy(
        update={
            "use_learned": learned > 0,
            "blend": base.blend.model_copy(update={"rules": 1.0 - learned, "learned": learned}),
        }
    )
    return Recommender(repo, settings, bundle, text_embedder, clip_sha)


def outfit_studies(
    bundle: Bundle,
    data_dir: Path,
    ids: Sequence[str],
    described: Described,
    specs: Mapping[str, GarmentSpec],
) -> dict[str, float]:
    """Complementary-item retrieval and the recommender's top-10 hit rates (module docstring)."""
    encoder = bundle.preprocessing["encoder"]
    clip = load_bundle(Path(encoder["path"]) / "clip")
    clip_sha = clip.meta["weights_sha256"]

    def text_embedder(texts: Sequence[str]) -> np.ndarray:
        with torch.inference_mode():
            return clip.net.embed_text(list(texts)).float().numpy()

    garments = garment_records(ids, described)
    dim = int(described.image_embeddings.shape[1])
    with tempfile.TemporaryDirectory(prefix="compat-eval-") as tmp:
        repo = _store(Path(tmp), dim)
        repo.put("catalogue", garments, described.image_embeddings)
        rec = _recommender(repo, bundle, clip_sha, text_embedder, 0.5)
        if rec.learned is None:
            raise RuntimeError(f"learned scorer off: {rec.learned_scorer_status}")
        metrics = retrieval(rec, rec.wardrobe("catalogue"), data_dir, specs)
        rng = np.random.default_rng(SEED)
        users = []
        for w in range(WARDROBES):
            user = f"heldout{w}"
            pick = rng.choice(len(garments), min(WARDROBE_SIZE, len(garments)), replace=False)
            repo.put(user, [garments[i] for i in pick], described.image_embeddings[pick])
            users.append(user)
        for name, weight in [("rules", 0.0), ("learned", 1.0)] + [
            (f"blend_{w:g}", w) for w in LEARNED_WEIGHTS
        ]:
            rec = _recommender(repo, bundle, clip_sha, text_embedder, weight)
            metrics[f"hit10_{name}"] = hit_rate(rec, users, specs)
    return metrics


def hit_rate(rec: Recommender, users: Sequence[str], specs: Mapping[str, GarmentSpec]) -> float:
    """Share of the top-10 outfits, over ``users``, that the stylist rule accepts."""
    hits = []
    for user in users:
        for outfit in rec.recommend(user, k=TOP_K).outfits:
            hits.append(is_compatible([specs[g] for g in outfit.garment_ids]))
    return float(np.mean(hits)) if hits else float("nan")


def retrieval(
    rec: Recommender, index: WardrobeIndex, data_dir: Path, specs: Mapping[str, GarmentSpec]
) -> dict[str, float]:
    """Fill-the-slot retrieval over the whole held-out catalogue (module docstring)."""
    learned: LearnedScorer = rec.learned  # type: ignore[assignment]
    rules = RuleScorer(index, rec.settings)
    outfits = [o for o in read_outfits(_split_file(data_dir)) if len(o.items) >= 2]
    rng = np.random.default_rng(SEED)
    recall, rule_hits = [], {"rules": [], "learned": [], "blend": []}
    for outfit in outfits:
        items = [i.item_id for i in outfit.items]
        blank = int(rng.integers(len(items)))
        target = items[blank]
        partial = index.rows([i for k, i in enumerate(items) if k != blank])
        slot = index.slot[index.row[target]]
        pool = np.flatnonzero(index.slot == slot)
        pool = pool[~np.isin(pool, partial)]
        logit = learned.complements(index, partial, pool)
        rule = _rule_scores(rules, partial, pool)
        prob = 1.0 / (1.0 + np.exp(-logit))
        ranked = {"rules": rule, "learned": logit, "blend": 0.5 * rule + 0.5 * prob}
        top = pool[np.argsort(-logit, kind="stable")[:TOP_K]]
        recall.append(index.row[target] in set(top.tolist()))
        rest = [specs[index.ids[r]] for r in partial]
        for name, scores in ranked.items():
            best = pool[np.argsort(-scores, kind="stable")[:TOP_K]]
            rule_hits[name] += [is_compatible([*rest, specs[index.ids[r]]]) for r in best]
    out = {"retrieval_recall10": float(np.mean(recall)), "retrieval_questions": len(recall)}
    out |= {f"retrieval_rule_hit10_{k}": float(np.mean(v)) for k, v in rule_hits.items()}
    return out


def _rule_scores(rules: RuleScorer, partial: np.ndarray, pool: np.ndarray) -> np.ndarray:
    state = rules.fold([partial.tolist()])
    grown = rules.extend(state, np.zeros(len(pool), np.int64), pool)
    return rules.parts(grown)["rules"]


def _split_file(data_dir: Path) -> Path:
    for split in ("test", "valid"):
        path = data_dir / "nondisjoint" / f"{split}.json"
        if path.is_file():
            return path
    raise FileNotFoundError(f"{data_dir}/nondisjoint has no test.json or valid.json")
