"""One backend-parametrized parity test: the shipped int8 models through a real onnxruntime session and a
real ai-edge-litert interpreter read the same photos into the same CardResult fields."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pocketocr.tasks.card.predictor import CardReader
from pocketocr.zoo import MODELS_DIR, list_models

from tests.conftest import EXAMPLES

FIELDS = ("number", "expiry", "brand", "luhn_valid")
# Before the first trained release there are no card models at all; once ONNX ships, TFLite must ship too.
pytestmark = pytest.mark.skipif(not any(m.task == "card" for m in list_models(MODELS_DIR)),
                                reason="no card models shipped in pocketocr/models yet")


def _photos():
    rows = [json.loads(x) for x in (EXAMPLES / "labels.jsonl").read_text().splitlines()]
    return [EXAMPLES / r["file"] for r in rows]


@pytest.fixture(scope="module")
def onnx_results():
    reader = CardReader(backend="onnx")
    return [reader.read(p) for p in _photos()]


@pytest.mark.parametrize("backend", ["onnx", "tflite"])
def test_same_card_result_fields(backend, onnx_results):
    if backend == "tflite":
        pytest.importorskip("ai_edge_litert")
    reader = CardReader(backend=backend)
    assert {reader.det.path.suffix, reader.rec.path.suffix} == {".onnx" if backend == "onnx" else ".tflite"}
    differ = []
    for path, ref in zip(_photos(), onnx_results):
        got = reader.read(path)
        fields = [f for f in FIELDS if getattr(got, f) != getattr(ref, f)]
        if fields:
            differ.append(f"{path.name}: {', '.join(fields)}")
            continue
        assert len(got.boxes["number"]) == len(ref.boxes["number"]), path.name
        for a, b in zip(got.boxes["number"], ref.boxes["number"]):
            # same field found: boxes within a few detector cells (int8 kernels and quantizers differ
            # between runtimes; the ends of a line are where the mask is least sure: measured up to 5.4%)
            assert np.allclose(a.box, b.box, atol=max(4.0, 0.08 * (b.box[2] - b.box[0]))), path.name
    # Two int8 runtimes with their own quantizers (ORT QDQ uint8, LiteRT PT2E int8): one photo of the six
    # may flip a field where the model is unsure; more means the TFLite export lost accuracy.
    assert len(differ) <= 1, f"{backend} disagrees with onnx on {differ}"


def test_tflite_models_are_shipped_with_cards():
    pytest.importorskip("ai_edge_litert")
    found = {(m.role, m.format, m.precision) for m in list_models(MODELS_DIR) if m.task == "card"}
    assert {("det", "tflite", "int8"), ("rec", "tflite", "int8")} <= found
    for m in list_models(MODELS_DIR):
        if m.format == "tflite" and m.task == "card":
            card = json.loads(m.path.with_name(m.path.name + ".json").read_text())
            assert card["metadata"]["pre.det_size"] and card["metrics"]["parity_vs_checkpoint"]["passed"]


@pytest.mark.parametrize("backend", ["onnx", "tflite"])
def test_backends_report_their_input_shape(backend):
    """Fixed axes as ints, dynamic ones as None: the formula predictor pads pages to a fixed-size model."""
    if backend == "tflite":
        pytest.importorskip("ai_edge_litert")
    from pocketocr.backends.base import open_backend
    from pocketocr.zoo import default_model

    det = open_backend(default_model("card", "det", backend))
    assert det.input_shape()[1:] == [3, 384, 384]
    formula = open_backend(default_model("formula", "det", backend))
    assert formula.input_shape()[1] == 1
    if backend == "onnx":  # any page aspect
        assert formula.input_shape()[2:] == [None, None]
    else:  # the TFLite export is a fixed square
        assert formula.input_shape()[2:] == [1024, 1024]


def test_readers_take_an_open_backend_in_place_of_a_file(example_images):
    """The export's parity gate and the formula trainer read through the SDK's readers with their torch models;
    the readers use an open `Backend` as given, and read exactly as from the file."""
    from pocketocr import CardReader, FormulaDetector
    from pocketocr.backends.base import open_backend
    from pocketocr.zoo import default_model

    det, rec = (open_backend(default_model("card", role, "onnx"), threads=1) for role in ("det", "rec"))
    reader = CardReader(det, rec, threads=1)
    assert reader.det is det and reader.rec is rec
    for p in example_images[:2]:
        a, b = reader.read(p), CardReader(threads=1).read(p)
        assert (a.number, a.expiry, a.confidence) == (b.number, b.expiry, b.confidence) and a.number
    formula = open_backend(default_model("formula", "det", "onnx"), threads=1)
    assert FormulaDetector(formula).det is formula
