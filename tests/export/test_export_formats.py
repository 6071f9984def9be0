"""The format table and the parity gate's arithmetic (export/formats.py, export/parity.py): no torch needed."""

from __future__ import annotations

import numpy as np
import pytest
from pocketocr.export.formats import FORMATS, Format, parse_formats, validate_options
from pocketocr.export.parity import ParityError, gate, output_agreement, raise_on_failure, result_agreement


def test_parse_formats_orders_and_adds_dependencies():
    assert [f.name for f in parse_formats("tflite,onnx")] == [Format.ONNX, Format.TFLITE]
    assert [f.name for f in parse_formats("ort")] == [Format.ONNX, Format.ORT]  # ORT is converted from ONNX
    assert [f.suffix for f in parse_formats(["onnx", "ort", "tflite"])] == [".onnx", ".ort", ".tflite"]


@pytest.mark.parametrize("bad", ["", "onnx,onnx", "tflite,coreml", "pt"])
def test_parse_formats_rejects(bad):
    with pytest.raises(ValueError):
        parse_formats(bad)


def test_validate_options():
    validate_options(parse_formats("onnx"), {"int8": True, "calib": 16})
    with pytest.raises(ValueError, match="calib"):
        validate_options(parse_formats("onnx"), {"int8": False, "calib": 16})
    with pytest.raises(ValueError, match="calib"):
        validate_options([FORMATS[Format.ORT]], {"int8": True, "calib": 16})  # ORT alone takes no calibration


def test_gate_passes_within_half_a_point_and_fails_beyond():
    ref = {"number_exact": 0.900}
    rows = gate("card", ref, {"a": {"number_exact": 0.896}, "b": {"number_exact": 0.890}, "c": {}},
                {"a": 1.0, "b": 0.9}, {})
    by = {r.file: r for r in rows}
    assert by["a"].passed and not by["b"].passed and not by["c"].passed  # a missing metric never passes
    assert by["b"].drop == pytest.approx(0.01)
    with pytest.raises(ParityError, match="b: number_exact"):
        raise_on_failure(rows, "summary.json")
    raise_on_failure([by["a"]], "summary.json")


def test_formula_gate_is_one_point_of_f1():
    rows = gate("formula", {"f1_50": 0.8}, {"x": {"f1_50": 0.791}, "y": {"f1_50": 0.789}}, {}, {})
    assert [r.passed for r in rows] == [True, False]


def test_output_agreement():
    a = np.zeros((1, 5, 4, 4), np.float32)
    b = a.copy()
    b[0, 0, 0, 0] = 0.9  # one cell crosses the 0.5 threshold
    d = output_agreement([a], [b], "maps")
    assert d["max_abs_diff"] == pytest.approx(0.9) and d["mask_agreement"] == pytest.approx(31 / 32)
    p = np.eye(3, dtype=np.float32)[None]
    assert output_agreement([p], [p], "probs") == {"max_abs_diff": 0.0, "argmax_agreement": 1.0}
    assert result_agreement([("1", None), ("2", "01/30")], [("1", None), ("3", "01/30")]) == 0.5
