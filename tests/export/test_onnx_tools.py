"""quantize_qdq keeps the convolutions at the model's edges float (export/onnx_tools.py)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper
from pocketocr.export.onnx_tools import CalibrationReader, input_convs, output_convs, quantize_qdq


def _three_convs(path):
    """x -> Mul -> conv_in -> Relu -> conv_mid -> Relu -> conv_out -> Sigmoid -> y."""
    rng = np.random.default_rng(0)
    w = [numpy_helper.from_array(rng.normal(0, 0.3, (4, c, 3, 3)).astype(np.float32), f"w{i}")
         for i, c in enumerate((1, 4, 4))]
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    nodes = [helper.make_node("Mul", ["x", "two"], ["xs"], name="scale"),
             helper.make_node("Conv", ["xs", "w0"], ["a"], name="conv_in", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"], name="r0"),
             helper.make_node("Conv", ["ar", "w1"], ["b"], name="conv_mid", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["b"], ["br"], name="r1"),
             helper.make_node("Conv", ["br", "w2"], ["c"], name="conv_out", pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c"], ["y"], name="sig")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [*w, two])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return m


def test_edges_are_found_through_other_ops(tmp_path):
    m = _three_convs(tmp_path / "m.onnx")
    assert input_convs(m) == ["conv_in"]
    assert output_convs(m) == ["conv_out"]


@pytest.mark.parametrize("edges", [True, False])
def test_quantize_keeps_edge_convs_float(tmp_path, edges):
    _three_convs(tmp_path / "m.onnx")
    batches = [np.random.default_rng(i).normal(0, 1, (1, 1, 8, 8)).astype(np.float32) for i in range(4)]
    out = tmp_path / "q.onnx"
    quantize_qdq(tmp_path / "m.onnx", out, CalibrationReader("x", batches), ["Conv", "Relu"], float_edge_convs=edges)
    q = onnx.load(str(out)).graph
    # a quantized conv reads a DequantizeLinear'd weight; a float one reads the float initializer itself
    float_convs = sorted(n.name for n in q.node if n.op_type == "Conv" and any(i.startswith("w") and not i.endswith(
        ("_DequantizeLinear_Output", "_quantized")) for i in n.input[1:2]))
    assert float_convs == (["conv_in", "conv_out"] if edges else [])
