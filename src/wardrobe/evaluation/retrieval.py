"""Held-out evaluation of the CLIP bundle: text -> image retrieval over garment crops.

The held-out attribute rows (SynthWardrobe of another seed; every split of it is unseen) are
captioned as in training (:func:`wardrobe.data.captions.caption_for`). Each DISTINCT caption is
a text query over all held-out images; a query is a hit at ``k`` when any of its ``k`` nearest
images carries a caption equal to it (captions repeat across crops, so every image the query
describes is correct). Image -> text recall ranks the distinct captions for each image.
See :mod:`wardrobe.models.clip_module` for the rule's definition.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch
from PIL import Image
from torch.utils.data import DataLoader

from wardrobe.artifacts import Bundle
from wardrobe.data.clip_datamodule import ImageTextDataModule
from wardrobe.evaluation import plots  # noqa: F401  (selects the headless matplotlib backend)
from wardrobe.evaluation.shared_trunk import TrunkOutputs, crop_outputs
from wardrobe.models.metrics import caption_groups, caption_retrieval_recall
from wardrobe.utils import CPU_CONV_BATCH
from wardrobe.utils.threads import loaded_on_one_thread

SPLITS = ("train", "val")  # a held-out root is another seed: every split of it is unseen
QUERIES_SHOWN = 6
TOP_SHOWN = 5


@torch.inference_mode()
def evaluate_clip(
    bundle: Bundle,
    data_dir: Path,
    out_dir: Path,
    batch_size: int = 64,
    trunk: TrunkOutputs | None = None,
) -> tuple[dict[str, float], list[Path]]:
    """t2i/i2t recall@1/5/10 on held-out attribute rows, and a plot of top-5 images per query
    (``trunk``: trunk outputs shared with the other crop bundles of the run)."""
    dm = ImageTextDataModule(str(data_dir), preprocessing=bundle.preprocessing, augment=False)
    parts = [dm.load_split(s, train=False) for s in SPLITS if dm.split_exists(s)]
    if not parts:
        raise FileNotFoundError(f"no held-out split in {data_dir}")
    images, captions, tokens, image_embeds = [], [], [], []
    for part in parts:
        batches = DataLoader(part, batch_size=CPU_CONV_BATCH)  # conv nets' best batch
        for pixels, ids in loaded_on_one_thread(batches):
            embeds = crop_outputs(bundle, pixels, trunk, whole=bundle.net.encode_image)
            image_embeds.append(embeds)
            tokens.append(ids)
        images += part.images
        captions += part.captions
    image_embeds, tokens = torch.cat(image_embeds), torch.cat(tokens)
    groups, first = caption_groups(tokens)
    text_embeds = torch.empty(len(tokens), image_embeds.shape[1])
    for start in range(0, len(first), batch_size):
        chunk = first[start : start + batch_size]
        text_embeds[chunk] = bundle.net.encode_text(tokens[chunk])
    # Only each caption's first pair needs its text embedded: the others share its tokens.
    text_embeds = text_embeds[first][groups]
    metrics = caption_retrieval_recall(image_embeds, text_embeds, tokens)
    metrics["images"] = float(len(images))
    figure = _queries_png(
        [captions[i] for i in first.tolist()],
        text_embeds[first] @ image_embeds.T,
        images,
        groups,
        out_dir / "clip_text_queries.png",
        f"clip: held-out text queries, top {TOP_SHOWN} images "
        f"(green = caption matches; t2i R@5 {metrics['t2i_r5']:.3f})",
    )
    return metrics, [figure]


def _queries_png(
    queries: list[str],
    similarity: torch.Tensor,
    images: list[Path],
    groups: torch.Tensor,
    path: Path,
    title: str,
) -> Path:
    """One row per query (spread over the sorted captions): the text, then its top images."""
    order = sorted(range(len(queries)), key=queries.__getitem__)
    step = max(1, len(order) // QUERIES_SHOWN)
    shown = order[::step][:QUERIES_SHOWN]
    top = min(TOP_SHOWN, similarity.shape[1])
    fig, axes = plt.subplots(
        len(shown), top + 1, figsize=(2.2 * (top + 1), 2.3 * len(shown)), squeeze=False
    )
    for row, query in zip(axes, shown, strict=True):
        row[0].axis("off")
        row[0].text(0.0, 0.5, _wrap(queries[query]), fontsize=8, va="center", wrap=True)
        for ax, index in zip(row[1:], similarity[query].topk(top).indices.tolist(), strict=True):
            with Image.open(images[index]) as img:
                ax.imshow(img.convert("RGB"))
            ax.set_xticks([])
            ax.set_yticks([])
            hit = int(groups[index]) == query
            for side in ax.spines.values():
                side.set_visible(True)
                side.set_color("#2E7D32" if hit else "#C62828")
                side.set_linewidth(3)
            ax.set_title(f"{float(similarity[query, index]):.2f}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _wrap(text: str, width: int = 22) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])
