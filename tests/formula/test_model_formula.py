"""The shipped int8 detector in a real onnxruntime session: it runs on a synthetic page and finds formulas."""

import numpy as np
import pytest
from pocketocr.eval.formula import match_boxes
from pocketocr.tasks.formula.predictor import FormulaDetector
from pocketocr.zoo import default_model


def test_shipped_model_metadata():
    det = FormulaDetector()
    assert det.model_version.startswith("formula-")
    assert det.spec.class_names == ("embedded", "isolated")
    meta = det.det.metadata()
    assert meta["pre.long_side"] == str(det.spec.long_side) and meta["precision"] == "int8"
    assert default_model("formula", "det").stat().st_size < 5 * 1024 * 1024


@pytest.mark.train
@pytest.mark.parametrize("photo", [False, True])
def test_shipped_model_finds_formulas(small_bank, photo):
    from pocketocr.training.formula.synth import make_page

    det = FormulaDetector()
    found, truth = 0, 0
    for seed in (1, 2, 3):
        page = make_page(90_000 + seed, small_bank, photo)
        r = det.detect(page.image)
        assert (r.width, r.height) == page.image.size
        for f in r.formulas:
            x1, y1, x2, y2 = f.box
            assert 0 <= x1 < x2 <= r.width and 0 <= y1 < y2 <= r.height and 0 <= f.score <= 1
        tb = np.array([b[:4] for b in page.boxes])
        ok, _ = match_boxes(tb, [b[4] for b in page.boxes], np.array([f.box for f in r.formulas]).reshape(-1, 4),
                            [f.kind for f in r.formulas], np.array([f.score for f in r.formulas]), 0.5)
        found, truth = found + int(ok.sum()), truth + len(tb)
    assert found / truth > 0.6, (found, truth)


def test_blank_page_has_no_formulas():
    from PIL import Image

    r = FormulaDetector().detect(Image.new("RGB", (1200, 1600), (250, 250, 245)))
    assert r.formulas == []
