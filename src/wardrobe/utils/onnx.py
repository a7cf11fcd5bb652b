"""ONNX Runtime settings and sessions shared by every model that runs in it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Conv nets on a few CPU cores run fastest in small batches (cache-resident activations): the
# Lite0 trunk at 224 px in ONNX Runtime on 2 cores, 94 images/s at batch 8, 77 at 32; eager
# torch at batch 64, 18 (channels-last at 8: 53). Bigger batches are run in chunks of this.
CPU_CONV_BATCH = 8


def onnx_session_options() -> Any:
    """ONNX Runtime settings for inference next to other work on a few cores: full graph
    optimisation, and no busy-waiting of idle pool threads (their spinning after each run
    steals the cores from the preprocessing and the other models of the pipeline)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def onnx_session(module: Any, path: Path, example: Any, input_name: str) -> Any:
    """An ONNX Runtime CPU session of ``module`` (a torch ``nn.Module``), exported to ``path``
    first when that file is missing; ``example`` is an input of the right shape (the batch axis
    is dynamic)."""
    import onnxruntime as ort
    import torch

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # workers may export at once
        torch.onnx.export(
            module,
            (example,),
            str(tmp),
            input_names=[input_name],
            dynamic_axes={input_name: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        tmp.replace(path)
        log.info("exported %s", path)
    providers = ["CPUExecutionProvider"]
    return ort.InferenceSession(str(path), onnx_session_options(), providers=providers)
