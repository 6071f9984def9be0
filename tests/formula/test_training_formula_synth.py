import json

import numpy as np
import pytest
from pocketocr.training.formula.synth import make_page, write_dataset

pytestmark = pytest.mark.train


@pytest.mark.parametrize("photo", [False, True])
def test_page_reproducible_and_boxes_inside(small_bank, photo):
    a, b = make_page(123, small_bank, photo), make_page(123, small_bank, photo)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert a.boxes == b.boxes and a.slices == b.slices
    assert a.slices["capture"] == ("photo" if photo else "scan")
    c = make_page(124, small_bank, photo)
    assert c.boxes != a.boxes
    w, h = a.image.size
    assert a.boxes, "a page without formulas"
    for x1, y1, x2, y2, kind in a.boxes:
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert kind in ("embedded", "isolated")
    assert len(a.cores) == len(a.boxes)


def test_both_kinds_over_pages(small_bank):
    kinds = {k for s in range(6) for *_, k in make_page(s, small_bank).boxes}
    assert kinds == {"embedded", "isolated"}


def test_write_dataset_is_an_eval_dataset(small_bank, tmp_path):
    from pocketocr.eval.formula import load_formula_labels

    write_dataset(tmp_path, 2, seed=5, bank=small_bank, photo=True)
    rows = [json.loads(x) for x in (tmp_path / "annotations.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["capture"] == "photo"
    labels = load_formula_labels(tmp_path)
    assert all(lab.file.exists() for lab in labels)
    assert sum(len(lab.boxes) for lab in labels) > 0
