"""Runtime helpers that several layers share, below all of them (they import no other part of
``wardrobe``): instantiating Hydra config groups, W&B's offline default, ONNX Runtime settings.
"""

from wardrobe.utils.instantiate import instantiate_group
from wardrobe.utils.onnx import CPU_CONV_BATCH, onnx_session, onnx_session_options
from wardrobe.utils.wandb_run import finish_wandb, wandb_offline_default

__all__ = [
    "CPU_CONV_BATCH",
    "finish_wandb",
    "instantiate_group",
    "onnx_session",
    "onnx_session_options",
    "wandb_offline_default",
]
