"""Held-out evaluation of the compatibility bundle in Polyvore's protocol.

The held-out Polyvore-format split's fixed compatibility questions give AUC and accuracy, its
fill-in-the-blank questions give FITB accuracy. Item features come from the bundle's own
frozen encoder (``preprocessing.encoder``), computed once and cached beside the data.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L

from wardrobe.artifacts import Bundle
from wardrobe.data.polyvore_datamodule import PolyvoreDataModule
from wardrobe.models.compatibility_module import OutfitCompatibilityModule
from wardrobe.models.feature_encoder import build_feature_encoder

# evaluation only: the module wants an optimiser config it will never use here
_UNUSED_OPTIMIZER = {"_target_": "torch.optim.AdamW", "_partial_": True}


def evaluate_compatibility(
    bundle: Bundle, data_dir: Path, out_dir: Path, batch_size: int = 64
) -> tuple[dict[str, float], list[Path]]:
    """AUC, accuracy and FITB accuracy on the held-out split's fixed questions."""
    pre = bundle.preprocessing
    dm = PolyvoreDataModule(
        data_dir=str(data_dir),
        batch_size=batch_size,
        encoder=pre["encoder"],
        build_encoder=build_feature_encoder,
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
    return metrics, []
