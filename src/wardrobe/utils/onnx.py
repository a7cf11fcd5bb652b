"""ONNX Runtime settings shared by every model that runs in it."""

from __future__ import annotations

from typing import Any


def onnx_session_options() -> Any:
    """ONNX Runtime settings for inference next to other work on a few cores: full graph
    optimisation, and no busy-waiting of idle pool threads (their spinning after each run
    steals the cores from the preprocessing and the other models of the pipeline)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options
