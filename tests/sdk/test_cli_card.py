"""The `pocketocr card` / `models` command lines, run for real on the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_card_json_on_examples_and_bad_inputs(tmp_path, example_images):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    args = [str(example_images[0]), str(empty), str(text), str(example_images[1])]
    res = run_cli("card", *args, "--json")
    assert res.returncode == 1, res.stderr                      # some inputs failed
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["file"] for r in rows] == args                     # one object per input, in order
    assert "error" in rows[1] and "empty" in rows[1]["error"]
    assert "error" in rows[2] and "not a recognised image" in rows[2]["error"]
    for r in (rows[0], rows[3]):
        assert set(r) == {"file", "number", "expiry", "brand", "luhn_valid", "confidence", "needs_review",
                          "timings_ms"}
        assert r["timings_ms"]["total"] > 0
    assert "Traceback" not in res.stderr
    err_lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(err_lines) == 2 and all(x.startswith("pocketocr: ") for x in err_lines)


def test_card_table_output(example_images):
    res = run_cli("card", str(example_images[0]), "--threads", "1")
    assert res.returncode == 0, res.stderr
    assert "number" in res.stdout.splitlines()[0] and example_images[0].name in res.stdout


def test_models_json_lists_shipped_card_models():
    res = run_cli("models", "--json", "--verify")
    assert res.returncode == 0, res.stderr
    models = json.loads(res.stdout)
    card = {m["role"]: m for m in models if m["task"] == "card" and m["format"] == "onnx"}
    assert set(card) == {"det", "rec"}
    for m in card.values():
        assert m["sha256_ok"] and m["size_bytes"] > 1000 and len(m["sha256"]) == 64 and m["version"]
    assert sum(m["size_bytes"] for m in models if m["task"] == "card" and m["format"] == "onnx") < 2_000_000


def test_models_metrics_shows_what_each_card_measured():
    listed = json.loads(run_cli("models", "--json", "--metrics").stdout)
    for m in listed:  # the JSON rows carry each card's metrics as written
        assert m["metrics"] == json.loads(Path(m["path"] + ".json").read_text())["metrics"]
    res = run_cli("models", "--metrics")
    assert res.returncode == 0, res.stderr
    det = next(m for m in listed if m["name"] == "card_det" and m["format"] == "onnx")
    val = det["metrics"]["synthetic_val"]
    line = next(ln for ln in res.stdout.splitlines() if ln.strip().startswith("synthetic_val "))
    assert f"n={val['n']}" in line and f"number_exact={val['number_exact']:.3f}" in line and "(export)" in line
    assert "parity_vs" not in res.stdout  # the gate's record is not a measurement to list
    for name in det["metrics"].get("recorded", {}):
        assert f"recorded.{name}" in res.stdout


def test_unknown_model_file_is_a_clear_error(tmp_path, example_images):
    res = run_cli("card", str(example_images[0]), "--det-model", str(tmp_path / "missing.onnx"))
    assert res.returncode == 2 and "model file not found" in res.stderr and "Traceback" not in res.stderr


def test_max_side_option_reads_a_large_photo_either_way(tmp_path, example_images):
    """--max-side 0 reads every pixel of a 12 MP photo, the default reads it reduced: the same number; a
    negative value is a one-line error."""
    from PIL import Image

    img = Image.open(example_images[0]).convert("RGB")
    k = 4032 / max(img.size)
    big = tmp_path / "big.jpg"
    img.resize((round(img.width * k), round(img.height * k)), Image.BICUBIC).save(big, quality=92)
    reduced, full = run_cli("card", str(big), "--json"), run_cli("card", str(big), "--json", "--max-side", "0")
    assert reduced.returncode == 0 and full.returncode == 0, reduced.stderr + full.stderr
    assert json.loads(reduced.stdout)["number"] == json.loads(full.stdout)["number"] is not None
    bad = run_cli("card", str(big), "--max-side", "-3")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--max-side" in bad.stderr
