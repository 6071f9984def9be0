"""Offline card evaluation: exact figures on hand-made predictions, and a real run on the examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pocketocr.errors import ImageError
from pocketocr.eval.card import evaluate_cards
from pocketocr.eval.html import card_report_html
from pocketocr.results import CardResult

from tests.conftest import EXAMPLES, run_cli


def _dataset(tmp_path, rows):
    (tmp_path / "images").mkdir()
    for r in rows:
        (tmp_path / r["file"]).write_bytes(b"x")
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_metrics_on_known_predictions(tmp_path):
    rows = [
        {"file": "images/a.jpg", "number": "4111111111111111", "expiry": "09/27", "style": "flat"},
        {"file": "images/b.jpg", "number": "4111111111111111", "expiry": "10/26", "style": "flat"},
        {"file": "images/c.jpg", "number": "378282246310005", "expiry": None, "style": "embossed"},
        {"file": "images/d.jpg", "number": "6011111111111117", "expiry": "88/88", "style": "embossed"},
    ]
    preds = {
        "a.jpg": ("4111111111111111", "09/27", False),   # all right
        "b.jpg": ("4111111111111112", "10/26", True),    # one digit wrong, flagged
        "c.jpg": (None, None, True),                     # abstained, flagged
        "d.jpg": ("6011111111111117", None, True),       # right; placeholder expiry not counted; flag wrong
    }

    def read(path):
        if path.name == "e.jpg":
            raise ImageError("e.jpg: broken")
        n, e, rev = preds[path.name]
        return CardResult(n, e, None, False, {"number": 0.9, "expiry": 0.9}, rev, {}, {"total": 10.0})

    ds = _dataset(tmp_path, rows)
    rep = evaluate_cards(read, ds, progress=False, model_version="v-test")
    assert rep["n"] == 4
    assert rep["number_exact"] == pytest.approx(2 / 4)
    assert rep["digit_cer"] == pytest.approx((0 + 1 + 15 + 0) / (16 + 16 + 15 + 16))
    assert rep["expiry_exact"] == pytest.approx(2 / 2) and rep["expiry_n"] == 2
    assert rep["needs_correction"] == pytest.approx(2 / 4)
    assert rep["review_rate"] == pytest.approx(3 / 4)
    assert rep["review_precision"] == pytest.approx(2 / 3)
    assert rep["review_recall"] == pytest.approx(1.0)
    assert rep["slices"]["style"]["embossed"]["number_exact"] == pytest.approx(0.5)
    assert rep["confusions"] == [{"truth": "1", "pred": "2", "count": 1}]
    assert rep["model_version"] == "v-test" and rep["latency_ms"]["p50"] == 10.0
    # reports never carry a full card number
    html = card_report_html(rep, ds)
    blob = json.dumps(rep) + html
    for r in rows:
        assert r["number"] not in blob


def test_unreadable_image_counts_as_failure(tmp_path):
    ds = _dataset(tmp_path, [{"file": "images/e.jpg", "number": "4111111111111111", "expiry": None}])

    def read(path):
        raise ImageError(f"{path.name}: broken")

    rep = evaluate_cards(read, ds, progress=False)
    assert rep["errors"] == 1 and rep["needs_correction"] == 1.0 and rep["number_exact"] == 0.0


def test_eval_cli_on_bundled_examples(tmp_path):
    html = tmp_path / "r.html"
    res = run_cli("eval", "card", str(EXAMPLES), "--json", "--html", str(html), "--no-progress")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    for key in ["n", "number_exact", "digit_cer", "expiry_exact", "needs_correction", "review_rate", "latency_ms",
                "slices"]:
        assert key in rep
    assert rep["n"] == 6 and set(rep["slices"]) >= {"style", "scene"}
    assert html.read_text().startswith("<!doctype html>")


def test_gallery_thumbnail_of_a_large_photo_draws_boxes_in_place(tmp_path):
    """A 12 MP photo is decoded reduced for its thumbnail; the boxes (file pixels) land where they belong."""
    import base64
    import io

    import numpy as np
    from PIL import Image
    from pocketocr.eval.html import thumbnail_data_uri

    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (255, 255, 255)).save(path, quality=95)
    uri = thumbnail_data_uri(path, {"number": [[2000, 1000, 2400, 1400]]}, size=320)
    thumb = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")).astype(int)
    assert thumb.shape[:2] == (240, 320)
    green = (thumb[..., 1] > 120) & (thumb[..., 0] < 120) & (thumb[..., 2] < 120)
    ys, xs = np.nonzero(green)
    assert len(xs) and abs(xs.min() - 160) <= 2 and abs(xs.max() - 192) <= 2 and abs(ys.min() - 80) <= 2


def test_eval_record_writes_todays_figures_into_both_model_cards(tmp_path):
    """`--record NAME` keeps the evaluation's figures in the det and rec cards, leaving the rest as it was."""
    import shutil

    from pocketocr.zoo import default_model, sha256_of

    paths = {}
    for role in ("det", "rec"):
        src = default_model("card", role)
        paths[role] = tmp_path / src.name
        shutil.copyfile(src, paths[role])
        shutil.copyfile(str(src) + ".json", str(paths[role]) + ".json")
    before = {r: json.loads(Path(str(p) + ".json").read_text()) for r, p in paths.items()}
    models = ["--det-model", str(paths["det"]), "--rec-model", str(paths["rec"])]

    bad = run_cli("eval", "card", str(EXAMPLES), *models, "--record", "no spaces", "--no-progress")
    assert bad.returncode == 2 and "--record" in bad.stderr and "Traceback" not in bad.stderr

    res = run_cli("eval", "card", str(EXAMPLES), *models, "--record", "examples_today", "--json", "--no-progress")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert "metrics.recorded.examples_today" in res.stderr
    for role, p in paths.items():
        card = json.loads(Path(str(p) + ".json").read_text())
        got = card["metrics"]["recorded"].pop("examples_today")
        if not card["metrics"]["recorded"]:  # a card that had no recorded figures before
            del card["metrics"]["recorded"]
        assert card == before[role]  # the export's figures, earlier records and everything else untouched
        assert card["sha256"] == sha256_of(p)
        assert got["n"] == rep["n"] == 6
        assert got["number_exact"] == rep["number_exact"] and got["expiry_exact"] == rep["expiry_exact"]
        assert got["dataset"] == EXAMPLES.name and got["model_version"] == before["det"]["version"]
        assert got["backend"] == "onnx" and got["measured"]


def test_eval_record_without_a_model_card_writes_none(tmp_path):
    import shutil

    from pocketocr.zoo import default_model

    det, rec = default_model("card", "det"), default_model("card", "rec")
    shutil.copyfile(det, tmp_path / det.name)
    shutil.copyfile(str(det) + ".json", str(tmp_path / det.name) + ".json")
    shutil.copyfile(rec, tmp_path / rec.name)  # no card beside the recogniser
    before = (tmp_path / (det.name + ".json")).read_text()
    res = run_cli("eval", "card", str(EXAMPLES), "--det-model", str(tmp_path / det.name), "--rec-model",
                  str(tmp_path / rec.name), "--record", "x", "--no-progress")
    assert res.returncode == 2 and "no model card" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / (det.name + ".json")).read_text() == before


def test_eval_ceiling_reads_the_labelled_quads_and_splits_the_misses(tmp_path):
    """`--ceiling` reads each labelled number quad with the recogniser alone and crosses it with the reader."""
    pytest.importorskip("fontTools")
    from pocketocr.training.card.synth import write_dataset

    data = write_dataset(tmp_path / "cards", n=8, seed=4343, progress=False, version=2)
    html = tmp_path / "r.html"
    res = run_cli("eval", "card", str(data), "--ceiling", "--json", "--samples", "--html", str(html), "--no-progress")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    c = rep["ceiling"]
    page = html.read_text()  # the split on the page, and on each failure in the gallery
    assert "Which model missed" in page and f"reads {c['recogniser_exact']:.3f} of 8" in page
    fails = [r for r in rep["samples"] if r["needs_correction"]]
    assert page.count("recogniser alone on the labelled quads:") == len(fails)
    assert sum(r["ceiling_rec_right"] for r in rep["samples"]) == round(c["recogniser_exact"] * 8)
    assert c["n"] == 8 and c["skipped"] == 0
    assert c["reader_exact"] == rep["number_exact"]
    assert sum(v for row in c["table"].values() for v in row.values()) == 8
    assert c["misses"] == c["misses_detector_side"] + c["misses_recogniser_side"] == 8 - sum(c["table"]["right"].values())
    assert c["recogniser_exact"] >= 0.25  # clean quads of generated photos: the recogniser reads some
    assert set(c["slices"]["style"]) <= {"flat", "embossed"}

    # The expiry: every row with a labelled date and its quad, crossed with the reader's expiry outcome.
    rows = [json.loads(line) for line in (data / "labels.jsonl").read_text().splitlines()]
    dated = [r for r in rows if r.get("expiry") and r.get("expiry_quad")]
    e = c["expiry"]
    assert e["n"] == len(dated) >= 4
    assert e["reader_exact"] == sum(r["expiry_exact"] for r in rep["samples"] if "ceiling_expiry_rec_right" in r) / e["n"]
    assert sum(r.get("ceiling_expiry_rec_right", False) for r in rep["samples"]) == round(e["recogniser_exact"] * e["n"])
    assert e["misses"] == e["misses_detector_side"] + e["misses_recogniser_side"]
    assert e["recogniser_exact"] >= 0.25
    assert page.count("recogniser alone on the labelled expiry quad:") == sum(
        1 for r in fails if "ceiling_expiry_rec_right" in r)
    assert "Which model missed the expiry" in page

    # Quads moved off the fields (a corner of the photo) read nothing right; rows without quads, or with quads
    # that are not four points, are skipped, with no traceback.
    for i, r in enumerate(rows):
        if i == 1:
            r["number_quads"] = [[[2, 2], [60, 2]]]
        elif i == 3:
            r["number_quads"] = [[[2, 2], [60, 2], [60, "x"], [2, 14]]]
        elif i % 2:
            del r["number_quads"]
        else:
            r["number_quads"] = [[[2, 2], [60, 2], [60, 14], [2, 14]]]
            r["expiry_quad"] = [[2, 2], [60, 2], [60, 14], [2, 14]]
            r["expiry"] = "12/30"
    (data / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = run_cli("eval", "card", str(data), "--ceiling", "--json", "--no-progress")
    c = json.loads(res.stdout)["ceiling"]
    assert res.returncode == 0 and c["n"] == 4 and c["skipped"] == 4 and c["recogniser_exact"] == 0.0
    assert c["expiry"]["n"] == 4 and c["expiry"]["recogniser_exact"] == 0.0
    rows[0]["expiry_quad"] = [[2, 2], [60, 2], [60, 14]]  # not a quad: that date is not read alone
    (data / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = run_cli("eval", "card", str(data), "--ceiling", "--json", "--no-progress")
    c = json.loads(res.stdout)["ceiling"]
    assert res.returncode == 0 and "Traceback" not in res.stderr and c["n"] == 4 and c["expiry"]["n"] == 3


def test_eval_ceiling_is_for_cards_only():
    res = run_cli("eval", "formula", str(EXAMPLES.parent / "formulas"), "--ceiling")
    assert res.returncode == 2 and "--ceiling" in res.stderr and "Traceback" not in res.stderr
