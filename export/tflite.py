"""PyTorch -> TFLite with litert-torch: fp32, and static int8 through the PT2E path.

int8: `torch.export` -> `prepare_pt2e` with litert-torch's symmetric per-channel quantizer -> the
calibration batches (the same synthetic photos as the ONNX int8) -> `convert_pt2e` -> `litert_torch.convert`.
Modules wrapped in `FloatStem` (the first layer) and `FloatTail` (the output convolution and activations)
stay float, so an int8 model takes and returns float tensors around an int8 body. Every file is loaded back
with ai-edge-litert and compared with PyTorch.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from pocketocr.zoo import model_card_path

__all__ = ["FloatStem", "FloatTail", "export_tflite", "run_tflite", "write_sidecar_metadata"]


class FloatTail(torch.nn.Module):
    """The output convolution and the last activations of a model, kept float in every int8 export.

    The decoders use the maps and probabilities themselves (confidence thresholds, Luhn-repair
    candidates at 5% of the best, box distances), not only their argmax: an int8 step on the output
    convolution or on a softmax/sigmoid zeroes exactly those alternatives (v1 card models: the int8
    TFLite lost 5 pt of number exact against the checkpoint with the output convolution in int8).
    """

    def __init__(self, conv: torch.nn.Module, fn):
        super().__init__()
        self.conv, self.fn = conv, fn

    def forward(self, y):
        return self.fn(self.conv(y))


class FloatStem(torch.nn.Module):
    """The first layer of a model, kept float in every int8 export (as `quantize_qdq` keeps the ONNX input
    convolutions): a [-1, 1]-normalised 8-bit photo falls between the steps of an int8 input grid, and
    quantizing it cost the v3 card pair 1.0 pt of number exact against the checkpoint."""

    def __init__(self, layer: torch.nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)


def _dyn(dynamic_batch: bool):
    # litert-torch bakes the batch of the example into reshapes unless the batch is symbolic.
    return ({0: torch.export.Dim("batch", min=1, max=256)},) if dynamic_batch else None


def export_tflite(module: torch.nn.Module, example: torch.Tensor, path: Path, *, int8: bool,
                  calib: Iterable[np.ndarray] = (), dynamic_batch: bool = False,
                  act_observer: str = "histogram") -> Path:
    """Write `module` as a TFLite model.

    Args:
        module: eval-mode module returning ready-to-use outputs (probabilities, maps).
        example: example input; with `dynamic_batch` its batch must be >= 2 (1 would be specialised).
        path: output file.
        int8: static int8 (PT2E) instead of fp32.
        calib: with int8, input batches (float32 numpy) from the real input distribution. With a fixed
            batch they are fed one sample at a time.
        dynamic_batch: keep the batch axis symbolic (the recogniser runs one crop per field).
        act_observer: with int8, "histogram" (litert-torch's default) or "minmax" for the activation ranges.

    Returns:
        `path`.
    """
    import litert_torch

    # litert-torch prints its progress on stdout; keep stdout for the CLI's own output (--json).
    with contextlib.redirect_stdout(sys.stderr):
        return _export(litert_torch, module, example, Path(path), int8=int8, calib=calib, dynamic_batch=dynamic_batch,
                       act_observer=act_observer)


def _export(litert_torch, module: torch.nn.Module, example: torch.Tensor, path: Path, *, int8: bool,
            calib: Iterable[np.ndarray], dynamic_batch: bool, act_observer: str) -> Path:
    module = module.eval()
    dyn = _dyn(dynamic_batch)
    if not int8:
        litert_torch.convert(module, (example,), dynamic_shapes=dyn).export(str(path))
        return Path(path)
    from litert_torch.quantize import pt2e_quantizer as pq
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e import quantize_pt2e

    config = pq.get_symmetric_quantization_config(is_per_channel=True)
    if act_observer == "minmax":  # litert-torch's default is a histogram observer, which clips the tails
        from dataclasses import replace

        from torchao.quantization.pt2e.observer import MinMaxObserver

        act = replace(config.input_activation, observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-12))
        config = replace(config, input_activation=act, output_activation=act)
    quantizer = pq.PT2EQuantizer().set_global(config)
    # leave these modules' ops unannotated: they run in float
    for kind in (FloatStem, FloatTail):
        # torch.export records module types as qualified names (older versions: the class itself)
        for tp in (kind, f"{kind.__module__}.{kind.__qualname__}"):
            quantizer.set_module_type(tp, None)
    graph = torch.export.export(module, (example,), dynamic_shapes=dyn).module()
    graph = quantize_pt2e.prepare_pt2e(graph, quantizer)
    n = 0
    with torch.no_grad():
        for batch in calib:
            parts = [batch] if dynamic_batch else [batch[i:i + 1] for i in range(len(batch))]
            for b in parts:
                graph(torch.from_numpy(np.ascontiguousarray(b, np.float32)))
                n += len(b)
    if n == 0:
        raise ValueError("int8 TFLite export needs calibration batches")
    graph = quantize_pt2e.convert_pt2e(graph, fold_quantize=False)
    litert_torch.convert(graph, (example,), quant_config=QuantConfig(pt2e_quantizer=quantizer),
                         dynamic_shapes=dyn).export(str(path))
    return Path(path)


def write_sidecar_metadata(path: Path, meta: dict[str, str]) -> None:
    """A first model card `<file>.json` holding only the metadata, written right after conversion: TFLite
    files carry none that survives converters, and the LiteRT backend reads the preprocessing spec from
    the card, so scoring the file before its full card is written must find it there."""
    model_card_path(path).write_text(json.dumps({"metadata": meta}) + "\n")


def run_tflite(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    """Run a TFLite file with ai-edge-litert through the SDK's backend (the same input quantization)."""
    from pocketocr.backends.litert import LiteRTBackend

    be = LiteRTBackend(Path(path), threads=1)
    name = be.input_names()[0]
    return [be.run({name: np.ascontiguousarray(b, np.float32)})[0] for b in batches]
