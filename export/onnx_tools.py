"""ONNX helpers shared by every exporter: metadata, the calibration reader, static int8 QDQ quantization."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import onnx

__all__ = ["CalibrationReader", "input_convs", "output_convs", "quantize_qdq", "set_metadata"]


def set_metadata(path: Path, meta: dict[str, str]) -> None:
    """Write `meta` into the model's metadata_props (the SDK reads its preprocessing from there)."""
    m = onnx.load(str(path))
    onnx.helper.set_model_props(m, meta)
    onnx.save(m, str(path))


class CalibrationReader:
    """onnxruntime CalibrationDataReader: one input batch per get_next()."""

    def __init__(self, name: str, batches: list[np.ndarray]):
        self.name, self.it = name, iter(batches)

    def get_next(self):
        b = next(self.it, None)
        return None if b is None else {self.name: b}


def _nearest_convs(starts: list[str], nodes_at, onward) -> list[str]:
    """Names of the first Conv nodes met walking from the tensors `starts`: `nodes_at(tensor)` gives the
    nodes one step away, `onward(node)` the tensors to walk on through a node that is not a Conv."""
    found, seen = [], set()
    todo = list(starts)
    while todo:
        for node in nodes_at(todo.pop()):
            if node.name in seen:
                continue
            seen.add(node.name)
            if node.op_type == "Conv":
                found.append(node.name)
            else:
                todo.extend(onward(node))
    return sorted(found)


def output_convs(model: onnx.ModelProto) -> list[str]:
    """Names of the Conv nodes that produce the graph outputs (walking back through non-Conv ops)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    return _nearest_convs([o.name for o in model.graph.output], lambda t: [producer[t]] if t in producer else [],
                          lambda n: n.input)


def input_convs(model: onnx.ModelProto) -> list[str]:
    """Names of the first Conv nodes after each graph input (walking forward through non-Conv ops)."""
    consumers: dict[str, list] = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    weights = {w.name for w in model.graph.initializer}  # older models list their weights as inputs too
    starts = [i.name for i in model.graph.input if i.name not in weights]
    return _nearest_convs(starts, lambda t: consumers.get(t, []), lambda n: n.output)


def quantize_qdq(fp32: Path, int8: Path, reader: CalibrationReader, op_types: list[str] | None = None,
                 float_edge_convs: bool = True, percentile: float | None = None) -> None:
    """Static int8 QDQ, per-channel int8 weights, uint8 activations, min-max calibration.

    `op_types` limits which ops are quantized (None: every op onnxruntime supports).
    `percentile` calibrates each activation range to that percentile of |x| instead of its min and max
    (the reader's batches must then all have the same shape: onnxruntime stacks them).
    `float_edge_convs` keeps in float the first convolution after each input and the last before each output:
    - output: the maps and probabilities the decoders threshold and rank come out of it, and a uint8 step
      there cost the card detector 1.7 pt of number exact (0.3 pt with only that 1x1 conv in float; v1 models,
      300 synthetic validation photos);
    - input: the photo's 256 grey levels, normalised to [-1, 1], fall half-way between the steps of a
      uint8 grid with an integer zero point, so quantizing the input blurs every pixel; with the v3 card
      recogniser the int8 pair lost 1.9 pt of number exact against fp32 (49.7 -> 47.8% on 1 000 synthetic
      photos), and none with the detector's stem float (49.8%).
    Together they cost a few hundred MACs per pixel in float.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = fp32.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    graph = onnx.load(str(pre))
    exclude = sorted(set(input_convs(graph)) | set(output_convs(graph))) if float_edge_convs else []
    # onnxruntime's histogram calibrators print their progress: keep stdout for the CLI's --json.
    with contextlib.redirect_stdout(sys.stderr):
        quantize_static(str(pre), str(int8), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile if percentile else CalibrationMethod.MinMax,
                        op_types_to_quantize=op_types, nodes_to_exclude=exclude,
                        extra_options={"CalibPercentile": percentile} if percentile else {})
    pre.unlink(missing_ok=True)
