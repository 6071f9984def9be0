"""`pocketocr export CHECKPOINT --to onnx,ort,tflite --int8` on an untrained checkpoint pair: every file is
written, carries its metadata, loads in the SDK, and passes through the parity gate (export/pipeline.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.export

def _recipe_hash() -> str:
    from pocketocr.training.card.train import recipe_digest

    recipe = {"seed": 11, "n_val": 6, "det_epochs": 1, "rec_epochs": 1}  # as tests/export/conftest.py writes
    return f"det:{recipe_digest(recipe, 'det')},rec:{recipe_digest(recipe, 'rec')}"


FILES = [f"card_{r}.{p}.{s}" for r in ("det", "rec") for p in ("fp32", "int8") for s in ("onnx", "ort", "tflite")]


def test_every_format_written_with_a_model_card(card_export):
    out, summary = card_export
    for name in FILES:
        assert (out / name).stat().st_size > 10_000, name
        card = json.loads((out / f"{name}.json").read_text())
        assert card["file"] == name and card["task"] == "card" and card["format"] == name.rsplit(".", 1)[1]
        meta = card["metadata"]
        assert meta["recipe_hash"] == _recipe_hash() and meta["pre.det_size"] == "384"
        assert json.loads(meta["labels"])["rec"][0] == "<blank>" and meta["version"] == summary["version"]
        assert card["speed"]["median_ms_1thread"] > 0
    assert set(summary["files"]) == set(FILES) | {"required_operators.config"}


def test_zoo_lists_the_exported_files(card_export):
    from pocketocr.zoo import list_models

    out, _ = card_export
    found = {(m.role, m.format, m.precision) for m in list_models(out)}
    assert found == {(r, f, p) for r in ("det", "rec") for f in ("onnx", "ort", "tflite") for p in ("fp32", "int8")}


def test_onnx_and_ort_carry_metadata_inside(card_export):
    from pocketocr.backends.ort import OrtBackend

    out, summary = card_export
    for name in ("card_det.int8.onnx", "card_rec.fp32.onnx", "card_det.int8.ort"):
        meta = OrtBackend(out / name).metadata()
        assert meta["version"] == summary["version"] and meta["task"] == "card" and meta["role"] in name
        assert meta["recipe_hash"] == _recipe_hash() and "pre.vocab" in meta


def test_onnx_batch_axis_is_dynamic(card_export):
    from pocketocr.backends.ort import OrtBackend

    out, _ = card_export
    be = OrtBackend(out / "card_rec.fp32.onnx")
    y1 = be.run({"crop": np.zeros((1, 1, 32, 384), np.float32)})[0]
    y3 = be.run({"crop": np.zeros((3, 1, 32, 384), np.float32)})[0]
    assert y3.shape == (3, *y1.shape[1:]) and y1.shape[2] == 12  # (N, T, blank + 0-9 + "/")


def test_required_operators_config_covers_the_models(card_export):
    out, _ = card_export
    text = (out / "required_operators.config").read_text()
    assert "ai.onnx" in text and "QuantizeLinear" in text and "Conv" in text


def test_tflite_int8_keeps_its_edges_float_and_runs_any_batch(card_export):
    from ai_edge_litert.interpreter import Interpreter
    from pocketocr.backends.litert import LiteRTBackend

    out, _ = card_export
    it = Interpreter(model_path=str(out / "card_rec.int8.tflite"))
    # the first layer (FloatStem) and the output conv (FloatTail) are float; the body between is int8
    assert it.get_input_details()[0]["dtype"] == np.float32
    assert it.get_output_details()[0]["dtype"] == np.float32
    int8 = [t for t in it.get_tensor_details() if t["dtype"] == np.int8 and t["quantization"][0] > 0]
    assert len(int8) >= 10
    be = LiteRTBackend(out / "card_rec.int8.tflite")
    for n in (1, 3):  # one crop per field: the recogniser's batch varies per photo
        y = be.run({be.input_names()[0]: np.zeros((n, 1, 32, 384), np.float32)})[0]
        assert y.shape[0] == n and y.shape[2] == 12 and np.allclose(y.sum(-1), 1, atol=0.05)


def test_parity_rows_and_tflite_vs_onnx(card_export):
    out, summary = card_export
    rows = summary["parity"]
    assert len(rows) == 6 and all(r["passed"] for r in rows)
    assert all(r["metric"] == "number_exact" and r["max_drop"] == 0.005 for r in rows)
    assert all(0 <= r["result_agreement"] <= 1 for r in rows)
    assert "mask_agreement" in rows[0]["output_agreement"]["det"]
    for r in rows:  # fp32 files compute what the checkpoint computes (guards the TFLite wrappers too)
        if ".fp32." in r["file"]:
            assert r["output_agreement"]["det"]["max_abs_diff"] < 1e-3, r["file"]
            assert r["output_agreement"]["rec"]["max_abs_diff"] < 1e-3, r["file"]
    assert "within" in summary["tflite_int8_vs_onnx_int8"]
    for r in rows:  # each file's model card records what its pair read on the gate's photos
        for name in r["file"].split(" + "):
            val = json.loads((out / f"{name}.json").read_text())["metrics"]["synthetic_val"]
            assert val["n"] == summary["val_n"] == 6 and val["number_exact"] == r["value"], name
            assert val["data_versions"] == summary["val_data_versions"] and "needs_correction" in val
    assert json.loads((out / "export_summary.json").read_text())["version"] == summary["version"]


@pytest.mark.parametrize("fmt", ["onnx", "ort", "tflite"])
def test_cardreader_runs_every_exported_pair(card_export, fmt):
    from pocketocr.tasks.card.predictor import CardReader

    out, summary = card_export
    img = np.full((240, 380, 3), 200, np.uint8)
    r = CardReader(out / f"card_det.int8.{fmt}", out / f"card_rec.int8.{fmt}")
    assert set(r.read(img).timings_ms) >= {"pre", "infer", "post"}
    assert r.model_version == summary["version"]  # the model's metadata reaches the reader on every backend


def test_cli_rejects_bad_options_fast(card_run):
    r = run_cli("export", str(card_run), "--to", "onnx", "--calib", "8")
    assert r.returncode == 2 and "--calib only applies with --int8" in r.stderr
    r = run_cli("export", str(card_run), "--to", "coreml")
    assert r.returncode == 2 and "unknown export format" in r.stderr
    r = run_cli("export", str(card_run / "nothing.pt"), "--to", "onnx")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_compare_takes_a_checkpoint_candidate(card_run, card_export):
    """A run folder is exported to fp32 ONNX (no gate) and compared with exported files."""
    from tests.conftest import EXAMPLES

    out, _ = card_export
    r = run_cli("compare", str(card_run), f"{out / 'card_det.int8.tflite'},{out / 'card_rec.int8.tflite'}",
                "--dataset", str(EXAMPLES), "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert [c["name"] for c in rep["candidates"]] == [card_run.name, "card_det.int8.tflite"]
    assert (card_run / "export" / "compare_fp32" / "card_det.fp32.onnx").exists()


def test_a_failed_gate_raises_unless_the_exception_is_asked_for(card_run, tmp_path, monkeypatch):
    """`--allow-parity-failure`: files that fail the gate are written with model cards that say so, and the
    export warns; without it the export raises and leaves no model card for them."""
    from pocketocr.export import parity
    from pocketocr.export.pipeline import export_checkpoint

    monkeypatch.setitem(parity.GATES, "card", parity.Gate("number_exact", -1.0))  # no file can pass
    with pytest.raises(parity.ParityError):
        export_checkpoint(card_run, tmp_path / "strict", to="onnx", val_n=6, log=lambda m: None)
    assert not list((tmp_path / "strict").glob("*.onnx.json"))
    said = []
    summary = export_checkpoint(card_run, tmp_path / "allowed", to="onnx", val_n=6, allow_parity_failure=True,
                                log=said.append)
    cards = [json.loads(p.read_text()) for p in (tmp_path / "allowed").glob("*.onnx.json")]
    assert len(cards) == 2 and all(c["metrics"]["parity_vs_checkpoint"]["passed"] is False for c in cards)
    assert any("parity gate FAILED" in m for m in said) and summary["parity"][0]["passed"] is False
