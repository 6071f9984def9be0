import json

import numpy as np
import pytest
from pocketocr.eval.formula import (
    box_iou,
    coverage,
    evaluate_predictions,
    load_formula_labels,
    match_boxes,
    size_bucket,
)
from pocketocr.results import Formula, FormulaResult


def _dataset(tmp_path, rows):
    (tmp_path / "annotations.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path


def test_iou_and_matching_one_to_one():
    assert box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(50 / 150)
    truth = np.array([[0, 0, 10, 10]])
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 11]])
    t_ok, p_ok = match_boxes(truth, ["embedded"], pred, ["embedded", "embedded"], np.array([0.5, 0.9]), 0.5)
    assert t_ok.tolist() == [True] and p_ok.tolist() == [False, True]   # the higher score wins, once
    t_ok, _ = match_boxes(truth, ["isolated"], pred[:1], ["embedded"], np.ones(1), 0.5)
    assert not t_ok.any()                                                 # classes must agree
    t_ok, _ = match_boxes(truth, ["unknown"], pred[:1], ["embedded"], np.ones(1), 0.5)
    assert t_ok.all()                                                     # unknown matches any class


def test_coverage_and_size():
    cov = coverage(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 5, 10], [5, 0, 7, 10]]))
    assert cov[0] == pytest.approx(0.7)
    assert size_bucket((0, 0, 10, 15), 1600) == "small"
    assert size_bucket((0, 0, 10, 15), 800) == "small"       # 600 px² at 1600
    assert size_bucket((0, 0, 20, 150), 1600) == "medium"
    assert size_bucket((0, 0, 500, 25), 1600) == "large"


def test_known_precision_recall_f1(tmp_path):
    """Page 1: 3 truths, 2 right, 1 miss, 1 false alarm. Page 2: 1 truth (isolated) found at IoU 0.6 only.
    At 0.5: tp 3, truths 4, preds 4 -> P = R = F1 = 0.75. At 0.75: tp 2 -> 0.5."""
    ds = _dataset(tmp_path, [
        {"file": "a.png", "width": 1000, "height": 1600, "capture": "scan",
         "boxes": [[10, 10, 30, 30, "embedded"], [100, 100, 120, 130, "embedded"], [300, 300, 900, 350, "isolated"]]},
        {"file": "b.png", "width": 1000, "height": 1600, "capture": "photo", "boxes": [[0, 0, 100, 100, "isolated"]]},
    ])
    labels = load_formula_labels(ds)
    preds = [
        FormulaResult([Formula((10, 10, 30, 30), "embedded", 0.9), Formula((300, 300, 900, 350), "isolated", 0.8),
                       Formula((500, 10, 520, 30), "embedded", 0.7)], 1000, 1600),
        FormulaResult([Formula((0, 0, 100, 60), "isolated", 0.9)], 1000, 1600),   # IoU 0.6
    ]
    rep = evaluate_predictions(labels, preds, latencies=[10.0, 20.0])
    assert rep["n"] == 2 and rep["n_truth"] == 4 and rep["n_pred"] == 4
    assert rep["precision_50"] == pytest.approx(0.75) and rep["recall_50"] == pytest.approx(0.75)
    assert rep["f1_50"] == pytest.approx(0.75)
    assert rep["f1_75"] == pytest.approx(0.5)
    assert rep["coverage_recall"] == pytest.approx(0.75)    # the 0.6-IoU box covers 60% of its truth
    assert rep["needs_correction"] == pytest.approx(0.5)    # page 1 has a miss and a false alarm
    assert rep["per_class"]["embedded"]["recall_50"] == pytest.approx(0.5)
    assert rep["per_class"]["embedded"]["precision_50"] == pytest.approx(0.5)
    assert rep["per_class"]["isolated"]["f1_50"] == pytest.approx(1.0)
    assert rep["per_size"]["small"]["n_truth"] == 2 and rep["per_size"]["small"]["recall_50"] == pytest.approx(0.5)
    assert rep["slices"]["capture"]["photo"]["recall_50"] == pytest.approx(1.0)
    assert rep["slices"]["capture"]["scan"]["f1_50"] == pytest.approx(2 / 3)
    assert rep["latency_ms"]["p50"] == pytest.approx(15.0)
    if rep["map"] is not None:
        assert 0 < rep["map"] < 1
    else:
        assert "map_note" in rep
    assert len(rep["samples"]) == 2


def test_no_predictions_scores_zero(tmp_path):
    ds = _dataset(tmp_path, [{"file": "a.png", "boxes": [[0, 0, 10, 10, "unknown"]], "width": 100, "height": 100}])
    rep = evaluate_predictions(load_formula_labels(ds), [FormulaResult([], 100, 100)])
    assert rep["recall_50"] == 0.0 and rep["precision_50"] == 0.0 and rep["f1_50"] == 0.0
    assert rep["per_class"]["embedded"]["f1_50"] is None      # no truth of that class


def test_bad_label_line(tmp_path):
    (tmp_path / "annotations.jsonl").write_text('{"file": "a.png", "boxes": [[0, 0, 1, 1, "text"]]}\n')
    from pocketocr.errors import PocketOCRError

    with pytest.raises(PocketOCRError, match="annotations.jsonl:1"):
        load_formula_labels(tmp_path)


def test_eval_record_into_the_formula_model_card(tmp_path):
    import shutil

    from pocketocr.zoo import default_model

    from tests.conftest import ROOT, run_cli

    src = default_model("formula", "det")
    model = tmp_path / src.name
    shutil.copyfile(src, model)
    shutil.copyfile(str(src) + ".json", str(model) + ".json")
    pages = ROOT / "sdk" / "pocketocr" / "examples" / "formulas"
    res = run_cli("eval", "formula", str(pages), "--det-model", str(model), "--record", "pages_raw", "--no-snap",
                  "--json", "--no-progress")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    got = json.loads((tmp_path / (src.name + ".json")).read_text())["metrics"]["recorded"]["pages_raw"]
    assert got["f1_50"] == rep["f1_50"] and got["n"] == rep["n"] > 0
    assert got["snap"] is False and got["dataset"] == "formulas"
