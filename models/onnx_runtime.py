"""A torch network run by ONNX Runtime, and the export that makes its graph.

On a CPU, ONNX Runtime runs the dlib ResNet, and MTCNN's R-Net and O-Net, in about half
torch's time with the same outputs (within 3e-7; tests/models/test_onnx_runtime.py holds embeddings
to 1e-5). `OnnxRuntimeModule` exports in memory at load (FaceEmbedder with
runtime="onnxruntime"); the service instead runs files exported by models/onnx_export.py, all
four networks, without torch (models/serving.py). torch stays the framework the networks are
defined, trained and exported in: these are serving paths only, a snapshot of the weights as
they were when it was made.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnxruntime
import torch
from torch import nn

OPSET = 17  # supported by every onnxruntime release since 1.13


def export_onnx(module: nn.Module, example: torch.Tensor, any_size: bool = False) -> bytes:
    """The module's forward as an ONNX graph whose first (batch) axis may be any size, and with
    `any_size` its last two (height and width: MTCNN's P-Net runs on every pyramid level)."""
    with torch.inference_mode():
        traced = module.eval()(example)
    outputs = [f"output{i}" for i in range(len(traced) if isinstance(traced, tuple) else 1)]
    axes = {0: "batch", 2: "height", 3: "width"} if any_size else {0: "batch"}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The tracer warns about Python shape arithmetic in forward(): the shapes it traces
        # are those of every chip of the backbone's fixed size.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # torch >= 2.9 deprecates this exporter for the dynamo one, which needs onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module.eval(),
            (example,),
            buffer,
            dynamo=False,  # the TorchScript exporter: needs no onnxscript
            input_names=["input"],
            output_names=outputs,
            dynamic_axes={name: axes for name in ["input", *outputs]},
            opset_version=OPSET,
        )
    return buffer.getvalue()


class OnnxRuntimeModule(nn.Module):
    """Runs `module`'s exported graph on the CPU; a drop-in for it at inference."""

    def __init__(self, module: nn.Module, example: torch.Tensor, threads: int) -> None:
        super().__init__()
        options = onnxruntime.SessionOptions()
        # As many threads as torch is given (OMP_NUM_THREADS): one knob for both runtimes.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            export_onnx(module, example), options, providers=["CPUExecutionProvider"]
        )

    def forward(self, batch: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The module's output(s) for this batch: a tensor, or a tuple as the module gives."""
        inputs = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        outputs = tuple(torch.from_numpy(o) for o in self._session.run(None, {"input": inputs}))
        return outputs[0] if len(outputs) == 1 else outputs
