"""The card parity gate's validation set (export/card.py): every data version the models trained on, pooled."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
from pocketocr.export.card import ensure_val_dataset, gate_versions, val_dataset_dir


def test_gate_versions_are_every_version_either_model_trained_on():
    v8_det = {"seed": 7, "data_version": 1, "det_versions": [1, 2, 3]}
    v7_rec = {"seed": 7, "data_version": 1, "rec_ft_epochs": 3, "rec_ft_data_version": 3,
              "det_ft_epochs": 0, "det_ft_data_version": 2}  # an unused stage adds nothing
    assert gate_versions(v8_det, v7_rec) == [1, 2, 3]
    assert gate_versions(v7_rec) == [1, 3]
    assert gate_versions({"seed": 7}) == [1]  # recipes older than data versions
    v4_rec = {**v7_rec, "rec_ft2_epochs": 3, "rec_ft2_data_version": 4}  # a stage-3 fine-tune on version 4
    assert gate_versions(v8_det, v4_rec) == [1, 2, 3, 4]
    v5_det = {**v8_det, "det_ft3_epochs": 2, "det_ft3_data_version": 5}  # a detector stage 4 on version 5
    assert gate_versions(v5_det, v7_rec) == [1, 2, 3, 5]
    # recognisers trained on several versions, in stage 1 (rec_versions) or stage 3 (rec_ft2_versions)
    assert gate_versions({**v7_rec, "rec_versions": [1, 6]}) == [1, 3, 6]
    assert gate_versions({**v4_rec, "rec_ft2_versions": [2, 5]}) == [1, 2, 3, 5]  # no version 4


def test_one_version_keeps_its_folder_name_and_several_get_their_own(tmp_path):
    recipe = {"seed": 7, "data_version": 2}
    assert val_dataset_dir(tmp_path, recipe, 300) == (tmp_path / "val_dataset_s8_v2_n300", [2])
    assert val_dataset_dir(tmp_path, {"seed": 7}, 300)[0].name == "val_dataset_s8_n300"  # as before versions
    assert val_dataset_dir(tmp_path, recipe, 300, [1, 2, 3]) == (tmp_path / "val_dataset_s8_v1-2-3_n300", [1, 2, 3])


def test_pooled_folder_holds_each_version_and_reports_them_as_slices(tmp_path):
    from pocketocr.eval.card import evaluate_cards
    from pocketocr.tasks.card.predictor import CardReader

    val = ensure_val_dataset(tmp_path / "val", 2, 8, [1, 3], progress=False)
    rows = [json.loads(x) for x in (val / "labels.jsonl").read_text().splitlines()]
    assert [(r["file"], r["data_version"]) for r in rows] == [
        ("v1/images/00000.jpg", "1"), ("v1/images/00001.jpg", "1"),
        ("v3/images/00000.jpg", "3"), ("v3/images/00001.jpg", "3")]
    assert all((val / r["file"]).is_file() for r in rows)
    # the same seeds, drawn by two generator versions: the same numbers, other pictures
    assert rows[0]["number"] == rows[2]["number"]
    assert (val / rows[0]["file"]).read_bytes() != (val / rows[2]["file"]).read_bytes()

    before = (val / "labels.jsonl").stat().st_mtime_ns
    ensure_val_dataset(tmp_path / "val", 2, 8, [1, 3], progress=False)  # written once
    assert (val / "labels.jsonl").stat().st_mtime_ns == before

    report = evaluate_cards(CardReader().read, val, progress=False)
    assert report["n"] == 4 and set(report["slices"]["data_version"]) == {"1", "3"}
    assert all(m["n"] == 2 for m in report["slices"]["data_version"].values())
