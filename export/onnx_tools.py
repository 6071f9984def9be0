"""ONNX helpers shared by every exporter: metadata, the calibration reader, static int8 QDQ quantization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

__all__ = ["set_metadata", "CalibrationReader", "quantize_qdq"]


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


def quantize_qdq(fp32: Path, int8: Path, reader: CalibrationReader, op_types: list[str] | None = None) -> None:
    """Static int8 QDQ, per-channel int8 weights, uint8 activations, min-max calibration.

    `op_types` limits which ops are quantized (None: every op onnxruntime supports).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = fp32.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(int8), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=op_types)
    pre.unlink(missing_ok=True)
