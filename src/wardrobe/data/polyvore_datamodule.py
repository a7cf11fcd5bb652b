"""``PolyvoreDataModule``: outfits of Polyvore Outfits (or SynthWardrobe's copy) as item features.

Data: ``<data_dir>/<variant>/{train,valid,test}.json`` + ``compatibility_<split>.txt`` +
``fill_in_blank_<split>.json``, images in ``<data_dir>/images/<item_id>.jpg``, semantic
categories in ``<data_dir>/polyvore_item_metadata.json``
(see :mod:`wardrobe.data.formats.polyvore`).

* **Item features** are made once by a frozen image encoder (:mod:`wardrobe.data.item_features`)
  in ``prepare_data`` and cached in ``feature_cache_dir`` (default ``<data_dir>/features``);
  :meth:`PolyvoreDataModule.from_features` takes a ready ``{item_id: vector}`` instead.
* **Train** batches: each outfit of ``train.json`` (at most ``max_items`` items, a random subset
  when longer) labelled 1, and ``negatives_per_positive`` negatives labelled 0 made as in
  Vasileva et al. (ECCV 2018): every item replaced by a random *other* item of the same semantic
  category, so a negative has the positive's category make-up and only compatibility separates
  them. With probability ``hard_negative_fraction`` a negative replaces a single item instead.
  Negatives and order are a function of ``(seed, epoch, index)``: resampled every epoch,
  reproducible, identical with any number of workers.
* **Val / test**: the FIXED questions of the split's files, never resampled, in ONE loader:
  each batch holds compatibility questions and (when ``fill_in_blank_<split>.json`` exists)
  an even share of the FITB questions under ``batch["fitb"]``. No second dataloader, so
  metric keys stay plain, Lightning's tables show each value once, and a partial run
  (``limit_val_batches``, ``fast_dev_run``) still samples both protocols. Questions are never
  truncated: evaluation batches are padded to their longest outfit, so every question is
  scored on all its items. ``test`` falls back to ``valid`` when the split has no test files.

Batches are dicts. Compatibility: ``features [B, L, D]``, ``padding_mask [B, L]`` (True =
padding, as ``nn.Transformer``'s ``src_key_padding_mask``), ``label [B]``. FITB (a dict under
``"fitb"`` in evaluation batches): ``features [Q, K, L, D]``, ``padding_mask [Q, K, L]``,
``candidate_mask [Q, K]`` (True = a real answer), ``target [Q]`` = the index of the answer
whose set_id is the question's.

What could not be used (unresolved tokens, missing or unreadable images, items without a
semantic category, questions dropped for those) is counted in :attr:`report` and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from wardrobe.data.formats.polyvore import (
    FitbQuestion,
    PolyvoreSplit,
    read_item_metadata,
    read_outfits,
)
from wardrobe.data.formats.report import SkipReport
from wardrobe.data.item_features import (
    EncoderBuilder,
    FeatureCache,
    resolve_encoder_spec,
    stack_features,
)
from wardrobe.hparams import plain

log = logging.getLogger(__name__)

GENERATOR_COMMAND = "python -m wardrobe.data.synthetic"
UNKNOWN_CATEGORY = ""
# A fixed order for evaluation batches: file order puts all positives first, so a partial run
# (limit_val_batches) would see one class only.
_EVAL_ORDER_SEED = 0


# ------------------------------------------------------------------------------- batching


def pad_outfits(
    outfits: Sequence[torch.Tensor], min_length: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[n_i, D]`` item features -> ``(features [B, L, D], padding_mask [B, L])``.

    ``L = max(min_length, longest n_i)``; padded slots are zeros and ``True`` in the mask.
    """
    length = max([min_length, *(len(o) for o in outfits)])
    dim = outfits[0].shape[-1]
    features = torch.zeros(len(outfits), length, dim)
    mask = torch.ones(len(outfits), length, dtype=torch.bool)
    for b, items in enumerate(outfits):
        features[b, : len(items)] = items
        mask[b, : len(items)] = False
    return features, mask


class CollateOutfits:
    """Collate ``(item features, label)`` samples into a padded compatibility batch."""

    def __init__(self, min_length: int) -> None:
        self.min_length = int(min_length)

    def __call__(self, samples: Sequence[tuple[torch.Tensor, float]]) -> dict[str, torch.Tensor]:
        features, mask = pad_outfits([s[0] for s in samples], self.min_length)
        label = torch.tensor([float(s[1]) for s in samples])
        return {"features": features, "padding_mask": mask, "label": label}


class CollateFitb:
    """Collate ``(list of K candidate outfits, target)`` samples into a padded FITB batch."""

    def __init__(self, min_length: int) -> None:
        self.min_length = int(min_length)

    def __call__(
        self, samples: Sequence[tuple[list[torch.Tensor], int]]
    ) -> dict[str, torch.Tensor]:
        num = max(len(s[0]) for s in samples)
        flat = [c for s in samples for c in s[0]]
        feats, mask = pad_outfits(flat, self.min_length)
        q, length, dim = len(samples), feats.shape[1], feats.shape[2]
        features = torch.zeros(q, num, length, dim)
        padding = torch.ones(q, num, length, dtype=torch.bool)
        candidates = torch.zeros(q, num, dtype=torch.bool)
        k = 0
        for i, (cands, _) in enumerate(samples):
            n = len(cands)
            features[i, :n] = feats[k : k + n]
            padding[i, :n] = mask[k : k + n]
            candidates[i, :n] = True
            k += n
        target = torch.tensor([int(s[1]) for s in samples])
        return {
            "features": features,
            "padding_mask": padding,
            "candidate_mask": candidates,
            "target": target,
        }


# ------------------------------------------------------------------------------- datasets


class EpochSampler(DistributedSampler):
    """Yields ``(epoch, index)``: the dataset draws its negatives from the epoch it is given.

    A ``DistributedSampler`` so Lightning neither replaces it under DDP nor forgets to call
    :meth:`set_epoch`; the epoch travels inside the index, so worker processes (persistent or
    not) need no shared state.
    """

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        for index in super().__iter__():
            yield self.epoch, int(index)


class TrainOutfits(Dataset):
    """Positive outfits of the train split and their same-category negatives.

    Index ``i`` (or ``(epoch, i)``) maps to outfit ``i // (1 + negatives_per_positive)``; the
    remainder ``0`` is the positive (label 1), the others negatives (label 0). After them come
    ``fixed_negatives``: the split's own labelled negatives (``compatibility_train.txt``; in
    SynthWardrobe the generator's hard ones, each breaking one part of the stylist rule), label 0
    in every epoch.
    """

    def __init__(
        self,
        features: torch.Tensor,
        outfits: Sequence[np.ndarray],
        categories: np.ndarray,
        max_items: int = 8,
        negatives_per_positive: int = 1,
        hard_negative_fraction: float = 0.0,
        seed: int = 0,
        fixed_negatives: Sequence[np.ndarray] = (),
    ) -> None:
        if negatives_per_positive < 0:
            raise ValueError("negatives_per_positive must be >= 0")
        if not 0.0 <= hard_negative_fraction <= 1.0:
            raise ValueError("hard_negative_fraction must be in [0, 1]")
        if max_items < 2:
            raise ValueError("max_items must be >= 2")
        self.features = features
        self.outfits = [np.asarray(o, dtype=np.int64) for o in outfits]
        self.categories = np.asarray(categories)
        self.max_items = int(max_items)
        self.per_outfit = 1 + int(negatives_per_positive)
        self.hard_negative_fraction = float(hard_negative_fraction)
        self.seed = int(seed)
        self.fixed_negatives = [np.asarray(o, dtype=np.int64) for o in fixed_negatives]
        # Replacement pools: rows of train items per semantic category (unknown: every row).
        used = np.unique(np.concatenate(self.outfits)) if self.outfits else np.array([], int)
        self.pools: dict[Any, np.ndarray] = {}
        for cat in np.unique(self.categories[used]) if len(used) else []:
            self.pools[cat] = used[self.categories[used] == cat]
        if UNKNOWN_CATEGORY in self.pools:
            self.pools[UNKNOWN_CATEGORY] = used
        self._position = {
            cat: {int(r): k for k, r in enumerate(rows)} for cat, rows in self.pools.items()
        }

    def __len__(self) -> int:
        return len(self.outfits) * self.per_outfit + len(self.fixed_negatives)

    def example(self, index: int, epoch: int = 0) -> tuple[np.ndarray, float]:
        """``(feature rows of the items, label)`` of sample ``index`` in ``epoch``.

        A long outfit is cut to the same random ``max_items`` items for the positive and its
        negatives (drawn from ``(seed, epoch, outfit)``); each negative then draws its
        replacements from ``(seed, epoch, index)``.
        """
        drawn = len(self.outfits) * self.per_outfit
        if index >= drawn:  # the split's own negatives, every epoch (cut like the others)
            rows = self.fixed_negatives[int(index) - drawn]
            if len(rows) > self.max_items:
                subset = np.random.default_rng([self.seed, int(epoch), int(index), 0])
                rows = np.sort(subset.choice(rows, self.max_items, replace=False))
            return rows, 0.0
        outfit, kind = divmod(int(index), self.per_outfit)
        rows = self.outfits[outfit]
        if len(rows) > self.max_items:
            subset = np.random.default_rng([self.seed, int(epoch), outfit, 0])
            rows = np.sort(subset.choice(rows, self.max_items, replace=False))
        if kind == 0:
            return rows, 1.0
        rng = np.random.default_rng([self.seed, int(epoch), int(index), 1])
        positions = np.arange(len(rows))
        if rng.random() < self.hard_negative_fraction:
            positions = rng.choice(positions, 1)
        negative = rows.copy()
        for p in positions:
            negative[p] = self._replacement(int(rows[p]), rng)
        return negative, 0.0

    def _replacement(self, row: int, rng: np.random.Generator) -> int:
        """A random item of ``row``'s semantic category, other than ``row`` when possible."""
        cat = self.categories[row]
        pool = self.pools[cat]
        if len(pool) < 2:
            return row
        k = int(rng.integers(len(pool) - 1))
        own = self._position[cat].get(row)
        if own is not None and k >= own:  # skip the item itself
            k += 1
        return int(pool[k])

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, float]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        rows, label = self.example(index, epoch)
        return self.features[torch.from_numpy(rows)], label


class CompatQuestions(Dataset):
    """The fixed compatibility questions: ``(item features, label)``."""

    def __init__(self, features: torch.Tensor, questions: Sequence[tuple[np.ndarray, int]]):
        self.features, self.questions = features, list(questions)

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, float]:
        rows, label = self.questions[i]
        return self.features[torch.from_numpy(rows)], float(label)


class FitbQuestions(Dataset):
    """The fixed FITB questions: ``(K candidate outfits (question + answer), correct index)``."""

    def __init__(self, features: torch.Tensor, questions: Sequence[tuple[list[np.ndarray], int]]):
        self.features, self.questions = features, list(questions)

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, i: int) -> tuple[list[torch.Tensor], int]:
        candidates, target = self.questions[i]
        return [self.features[torch.from_numpy(c)] for c in candidates], target


class EvalQuestions(Dataset):
    """A split's fixed questions served as ready batches (``DataLoader(batch_size=None)``).

    Batch ``j`` holds ``batch_size`` compatibility questions and, under the key ``"fitb"``, an
    even share of the FITB questions, so every batch (also with ``limit_val_batches`` or
    ``fast_dev_run``) evaluates both protocols, and one loader serves both.
    """

    def __init__(
        self,
        compat: CompatQuestions,
        fitb: FitbQuestions | None,
        batch_size: int,
        min_length: int,
    ) -> None:
        self.compat, self.fitb = compat, fitb
        self.batch_size = int(batch_size)
        self._collate_compat = CollateOutfits(min_length)
        self._collate_fitb = CollateFitb(min_length)
        self.num_batches = max(1, -(-len(compat) // self.batch_size))
        self.fitb_per_batch = 0 if fitb is None else -(-len(fitb) // self.num_batches)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, j: int) -> dict[str, Any]:
        if not 0 <= j < self.num_batches:
            raise IndexError(j)
        size = self.batch_size
        batch: dict[str, Any] = self._collate_compat(
            [self.compat[i] for i in range(j * size, min((j + 1) * size, len(self.compat)))]
        )
        if self.fitb is not None:
            share = self.fitb_per_batch
            indices = range(j * share, min((j + 1) * share, len(self.fitb)))
            if len(indices):
                batch["fitb"] = self._collate_fitb([self.fitb[i] for i in indices])
        return batch


def _eval_order(n: int) -> list[int]:
    return np.random.default_rng(_EVAL_ORDER_SEED).permutation(n).tolist()


# ----------------------------------------------------------------------------- datamodule


class PolyvoreDataModule(LightningDataModule):
    """Polyvore Outfits compatibility and FITB data over frozen item features.

    Args:
        data_dir: the Polyvore root (``<variant>/``, ``images/``, ``polyvore_item_metadata.json``).
        variant: ``nondisjoint`` or ``disjoint``; None when ``data_dir`` itself holds the split
            files (a flattened copy).
        batch_size: per-device batch (``tasks.train`` derives it from the config's effective one).
        num_workers, pin_memory, persistent_workers: DataLoader settings.
        max_items: pad length of train outfits; longer ones are subsampled (eval: never cut).
        negatives_per_positive: same-category negatives per outfit and epoch.
        hard_negative_fraction: share of negatives that replace one item instead of all.
        train_split_negatives: also train on the negatives of ``compatibility_train.txt``
            (labelled hard negatives, where the split has them), every epoch.
        encoder: the frozen image encoder spec (:mod:`wardrobe.data.item_features`; None = the
            offline EfficientNet-Lite0 at 128 px).
        build_encoder: ``spec -> FeatureEncoder``, called when items lack cached features
            (the config gives :func:`wardrobe.models.feature_encoder.build_feature_encoder`).
        feature_dim: expected feature size; a different encoder output fails loudly.
        feature_cache_dir: where features are cached (default ``<data_dir>/features``).
        encode_batch_size: images per encoder batch.
        seed: seed of the negatives and the train order.
        generate_if_missing: run the SynthWardrobe generator when train/valid are missing.
        generator: keyword arguments of ``wardrobe.data.synthetic.generate``.
    """

    def __init__(
        self,
        data_dir: str,
        variant: str | None = "nondisjoint",
        batch_size: int = 64,
        num_workers: int = 0,
        max_items: int = 8,
        negatives_per_positive: int = 1,
        hard_negative_fraction: float = 0.0,
        train_split_negatives: bool = False,
        encoder: Mapping[str, Any] | None = None,
        build_encoder: EncoderBuilder | None = None,
        feature_dim: int | None = None,
        feature_cache_dir: str | None = None,
        encode_batch_size: int = 64,
        seed: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        generate_if_missing: bool = False,
        generator: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if variant not in ("nondisjoint", "disjoint", None):
            raise ValueError(f"variant must be nondisjoint, disjoint or null, got {variant!r}")
        self.save_hyperparameters(
            plain(
                {
                    "data_dir": str(data_dir),
                    "variant": variant,
                    "batch_size": int(batch_size),
                    "num_workers": int(num_workers),
                    "max_items": int(max_items),
                    "negatives_per_positive": int(negatives_per_positive),
                    "hard_negative_fraction": float(hard_negative_fraction),
                    "train_split_negatives": bool(train_split_negatives),
                    "encoder": resolve_encoder_spec(encoder),
                    "feature_dim": None if feature_dim is None else int(feature_dim),
                    "feature_cache_dir": feature_cache_dir and str(feature_cache_dir),
                    "encode_batch_size": int(encode_batch_size),
                    "seed": int(seed),
                    "pin_memory": bool(pin_memory),
                    "persistent_workers": bool(persistent_workers),
                    "generate_if_missing": bool(generate_if_missing),
                    "generator": dict(generator or {}),
                }
            ),
            logger=False,
        )
        self.data_dir = Path(data_dir)
        self.build_encoder = build_encoder  # a callable: not a hyperparameter
        self.batch_size_per_device = int(batch_size)
        self.report = SkipReport(name=f"Polyvore {self.split_dir}")
        self._given_features: Mapping[str, Any] | None = None
        self._given_categories: Mapping[str, str] | None = None
        self.features: torch.Tensor | None = None
        self.row_of: dict[str, int] = {}
        self.row_category: np.ndarray | None = None
        self.data_train: TrainOutfits | None = None
        self.data_val: EvalQuestions | None = None
        self.data_test: EvalQuestions | None = None
        self._loaded: dict[str, PolyvoreSplit] = {}

    @classmethod
    def from_features(
        cls,
        data_dir: str | Path,
        features: Mapping[str, Any],
        item_categories: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> PolyvoreDataModule:
        """A datamodule over ready features ``{item_id: vector}`` (no images, no encoder).

        ``item_categories`` (``{item_id: semantic category}``) replaces the metadata file; with
        neither, negatives draw from all train items (counted as ``unknown_semantic_category``).
        """
        dm = cls(data_dir=str(data_dir), **kwargs)
        dm._given_features = features
        dm._given_categories = item_categories
        return dm

    # ------------------------------------------------------------------------- properties
    @property
    def split_dir(self) -> Path:
        """``<data_dir>/<variant>`` (``data_dir`` itself when ``variant`` is None)."""
        variant = self.hparams.variant
        return self.data_dir if variant is None else self.data_dir / variant

    @property
    def feature_dim(self) -> int:
        """Size of an item feature (after :meth:`setup`)."""
        if self.features is None:
            raise RuntimeError("call setup() first")
        return int(self.features.shape[1])

    @property
    def labels(self) -> dict[str, list[str]]:
        """For the bundle: the semantic categories of the train items (the negatives' pools)."""
        cats = [] if self.data_train is None else self.data_train.pools
        return {"semantic_categories": sorted(str(c) for c in cats if c != UNKNOWN_CATEGORY)}

    def split_exists(self, split: str) -> bool:
        """Whether ``<variant>/<split>.json`` exists (``split`` in train/valid/test)."""
        return (self.split_dir / f"{split}.json").is_file()

    # ------------------------------------------------------------------------ preparation
    def prepare_data(self) -> None:
        """Generate the data when missing (if allowed); encode and cache the item features."""
        if self._given_features is not None:
            return
        missing = [s for s in ("train", "valid") if not self.split_exists(s)]
        if missing:
            self._generate(missing)
        self._item_features(count=False)

    def _generate(self, missing: list[str]) -> None:
        if not self.hparams.generate_if_missing:
            raise FileNotFoundError(
                f"{self.split_dir}: no {' / '.join(m + '.json' for m in missing)}. Generate the "
                f"synthetic dataset with `{GENERATOR_COMMAND}` (see --help), or run with "
                "data.generate_if_missing=true, or point data.data_dir at a Polyvore Outfits root."
            )
        from wardrobe.data.synthetic import generate

        log.info("%s is missing: generating SynthWardrobe", self.split_dir)
        generate(**self.hparams.generator)
        still = [s for s in ("train", "valid") if not self.split_exists(s)]
        if still:
            raise FileNotFoundError(
                f"the generator ran with {self.hparams.generator} but {self.split_dir} still has "
                f"no {' / '.join(still)}: data.generator and data.data_dir disagree"
            )

    def _all_item_ids(self) -> set[str]:
        ids: set[str] = set()
        for split in ("train", "valid", "test"):
            if self.split_exists(split):
                ids.update(
                    i.item_id
                    for o in read_outfits(self.split_dir / f"{split}.json")
                    for i in o.items
                )
        return ids

    def _item_features(self, count: bool = True) -> dict[str, torch.Tensor]:
        """Every split's item features, from the cache (encoding what it lacks); ``count``
        adds unreadable images to :attr:`report`."""
        cache_dir = self.hparams.feature_cache_dir or self.data_dir / "features"
        cache = FeatureCache(
            cache_dir,
            self.hparams.encoder,
            batch_size=self.hparams.encode_batch_size,
            num_workers=self.hparams.num_workers,
            build_encoder=self.build_encoder,
        )
        images = {i: self.data_dir / "images" / f"{i}.jpg" for i in self._all_item_ids()}
        report = SkipReport(name="item features")
        features = cache.ensure(images, report)
        if report:
            log.warning("%s", report)
        if count:  # missing images are counted per split by PolyvoreSplit.check
            self.report.add("unreadable_image", "", report["unreadable_image"])
        return features

    # ------------------------------------------------------------------------------ setup
    def setup(self, stage: str | None = None) -> None:
        if self.features is None:
            self._load_features()
        if self.data_train is None and stage in (None, "fit"):
            self.data_train = self._train_dataset()
        if self.data_val is None and stage in (None, "fit", "validate"):
            self.data_val = self._eval_questions("valid")
        if self.data_test is None and stage in (None, "test"):
            has_test = self.split_exists("test") and (
                (self.split_dir / "compatibility_test.txt").is_file()
            )
            if not has_test:
                log.info("%s has no test split: testing on valid", self.split_dir)
            self.data_test = self._eval_questions("test" if has_test else "valid")
        if self.report:
            log.warning("%s", self.report)
        else:
            log.info("%s", self.report)

    def _load_features(self) -> None:
        given = self._given_features
        features = dict(given) if given is not None else self._item_features()
        if not features:
            raise RuntimeError(f"no item features for {self.data_dir}")
        self.features, self.row_of = stack_features(features)
        expected = self.hparams.feature_dim
        if expected is not None and self.features.shape[1] != expected:
            raise ValueError(
                f"item features have {self.features.shape[1]} dims but feature_dim={expected}: "
                "the encoder and the model's feature_dim disagree"
            )
        categories = self._categories()
        self.row_category = np.array(
            [categories.get(i, UNKNOWN_CATEGORY) for i in self.row_of], dtype=object
        )

    def _categories(self) -> dict[str, str]:
        if self._given_categories is not None:
            return {str(k): str(v) for k, v in self._given_categories.items()}
        path = self.data_dir / "polyvore_item_metadata.json"
        if not path.is_file():
            self.report.add("no_item_metadata", path)
            return {}
        return {i: m.semantic_category.strip() for i, m in read_item_metadata(path).items()}

    def _split(self, split: str) -> PolyvoreSplit:
        if split not in self._loaded:
            images = None if self._given_features is not None else self.data_dir / "images"
            loaded = PolyvoreSplit.load(self.split_dir, split, images)
            self.report.merge(loaded.report)
            self._loaded[split] = loaded
        return self._loaded[split]

    def _rows(self, item_ids: Sequence[str]) -> np.ndarray | None:
        rows = [self.row_of.get(i) for i in item_ids]
        return None if any(r is None for r in rows) else np.array(rows, dtype=np.int64)

    def _train_dataset(self) -> TrainOutfits:
        if not self.split_exists("train"):
            raise FileNotFoundError(f"{self.split_dir}/train.json is missing")
        outfits = []
        for outfit in self._split("train").outfits:
            rows = [self.row_of[i.item_id] for i in outfit.items if i.item_id in self.row_of]
            self.report.add(
                "train_item_without_feature", outfit.set_id, len(outfit.items) - len(rows)
            )
            if len(rows) < 2:
                self.report.add("train_outfit_under_2_items", outfit.set_id)
                continue
            outfits.append(np.array(rows, dtype=np.int64))
        assert self.row_category is not None
        used = {r for rows in outfits for r in rows}
        unknown = [r for r in used if self.row_category[r] == UNKNOWN_CATEGORY]
        self.report.add("unknown_semantic_category", "", len(unknown))
        return TrainOutfits(
            self.features,
            outfits,
            self.row_category,
            max_items=self.hparams.max_items,
            negatives_per_positive=self.hparams.negatives_per_positive,
            hard_negative_fraction=self.hparams.hard_negative_fraction,
            seed=self.hparams.seed,
            fixed_negatives=self._train_split_negatives(),
        )

    def _train_split_negatives(self) -> list[np.ndarray]:
        """The negatives of ``compatibility_train.txt`` when asked for (and present)."""
        if not self.hparams.train_split_negatives:
            return []
        if not (self.split_dir / "compatibility_train.txt").is_file():
            self.report.add("no_compatibility_train", self.split_dir)
            return []
        data = self._split("train")
        out = []
        for q in data.compatibility:
            if q.label == 0:
                rows = self._question_rows(data, q.tokens, "compatibility")
                if rows is not None:
                    out.append(rows)
        log.info("train: %d labelled negatives of compatibility_train.txt", len(out))
        return out

    def _eval_questions(self, split: str) -> EvalQuestions:
        """The fixed compatibility (and, where present, FITB) questions of ``split``."""
        data = self._split(split)
        compat = []
        for q in data.compatibility:
            rows = self._question_rows(data, q.tokens, "compatibility")
            if rows is not None:
                compat.append((rows, q.label))
        if not compat:
            raise FileNotFoundError(f"{self.split_dir}: no usable compatibility_{split}.txt")
        compat = [compat[i] for i in _eval_order(len(compat))]
        fitb = [f for q in data.fitb if (f := self._fitb(data, q)) is not None]
        log.info("%s: %d compatibility and %d FITB questions", split, len(compat), len(fitb))
        return EvalQuestions(
            CompatQuestions(self.features, compat),
            FitbQuestions(self.features, fitb) if fitb else None,
            batch_size=self.batch_size_per_device,
            min_length=self.hparams.max_items,
        )

    def _question_rows(
        self, data: PolyvoreSplit, tokens: Sequence[str], what: str
    ) -> np.ndarray | None:
        try:
            item_ids = [data.resolve(t) for t in tokens]
        except (KeyError, ValueError):
            self.report.add(f"{what}_question_unresolved", tokens[:2])
            return None
        rows = self._rows(item_ids)
        if rows is None:
            self.report.add(f"{what}_question_without_features", tokens[:2])
        return rows

    def _fitb(self, data: PolyvoreSplit, q: FitbQuestion) -> tuple[list[np.ndarray], int] | None:
        try:
            target = q.correct_index
        except ValueError:
            return None  # counted by PolyvoreSplit.check as fitb_without_one_answer
        question = self._question_rows(data, q.question, "fitb")
        answers = self._question_rows(data, q.answers, "fitb") if question is not None else None
        if question is None or answers is None:
            return None
        return [np.append(question, a) for a in answers], target

    # ------------------------------------------------------------------------ dataloaders
    def _loader(self, dataset: Dataset, **kwargs: Any) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(
            dataset,
            shuffle=False,
            num_workers=workers,
            pin_memory=self.hparams.pin_memory,
            persistent_workers=self.hparams.persistent_workers and workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        if self.data_train is None:
            raise RuntimeError("call setup('fit') before asking for a dataloader")
        trainer = self.trainer
        world = trainer.world_size if trainer is not None else 1
        rank = trainer.global_rank if trainer is not None else 0
        sampler = EpochSampler(
            self.data_train, num_replicas=world, rank=rank, shuffle=True, seed=self.hparams.seed
        )
        return self._loader(
            self.data_train,
            batch_size=self.batch_size_per_device,
            sampler=sampler,
            collate_fn=CollateOutfits(self.hparams.max_items),
        )

    def val_dataloader(self) -> DataLoader:
        """The fixed ``valid`` questions: compatibility batches, each with a FITB share."""
        if self.data_val is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        return self._loader(self.data_val, batch_size=None)

    def test_dataloader(self) -> DataLoader:
        """As :meth:`val_dataloader`, on ``test`` (``valid`` when the split has no test files)."""
        if self.data_test is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        return self._loader(self.data_test, batch_size=None)
