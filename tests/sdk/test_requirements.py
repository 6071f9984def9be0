"""Requirements TOML (pocketocr/requirements.py) and `pocketocr check`: validation, line numbers, the
release gate's exit codes. The end-to-end checks run the shipped card models on the bundled examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pocketocr.requirements import RequirementsError, load_requirements
from pocketocr.zoo import list_models

from tests.conftest import EXAMPLES, ROOT, run_cli

# These run the shipped card models; before the first trained release there are none.
needs_models = pytest.mark.skipif(not any(m.task == "card" for m in list_models()),
                                  reason="no card models shipped in pocketocr/models yet")

LENIENT = f"""# lenient: everything passes on any machine
[model]
task = "card"
path = "shipped"
backend = "onnx"

[latency]
p95_ms = 100000

[accuracy]
dataset = "{EXAMPLES}"
min = {{number_exact = 0.0}}
max = {{digit_cer = 10.0}}

[memory]
max_model_mb = 500
max_rss_mb = 100000

[throughput]
qps = 0.01

[serving]
target = "cpu-x86_64"
"""


def _write(tmp_path: Path, text: str, name: str = "req.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_and_line_numbers(tmp_path):
    req = load_requirements(_write(tmp_path, LENIENT))
    assert req.task == "card" and req.p95_ms == 100000 and req.min_metrics == {"number_exact": 0.0}
    assert req.lines["latency.p95_ms"] == 8 and req.lines["accuracy.min.number_exact"] == 12
    assert req.target.value == "cpu-x86_64" and req.dataset == EXAMPLES


@pytest.mark.parametrize("edit,message", [
    (("p95_ms = 100000", "p95 = 100000"), "unknown key latency.p95"),
    (("[serving]", "[servings]"), "unknown section"),
    (('target = "cpu-x86_64"', 'target = "mainframe"'), "serving.target must be one of"),
    (('backend = "onnx"', 'backend = "coreml"'), "backend must be"),
    (("p95_ms = 100000", 'p95_ms = "fast"'), "latency.p95_ms must be"),
    (('task = "card"', 'task = "pdf"'), "task must be"),
])
def test_rejects_bad_files_naming_the_line(tmp_path, edit, message):
    with pytest.raises(RequirementsError, match=message) as exc:
        load_requirements(_write(tmp_path, LENIENT.replace(*edit)))
    assert str(tmp_path / "req.toml") in str(exc.value)


def test_shipped_requirement_files_parse():
    card = load_requirements(ROOT / "requirements" / "card.toml")
    assert card.task == "card" and card.synthetic == {"n": 200, "seed": 4242, "version": 2} and card.p95_ms
    formula = load_requirements(ROOT / "requirements" / "formula.toml")
    assert formula.task == "formula" and "f1_50" in formula.min_metrics


@needs_models
def test_check_passes_a_lenient_file(tmp_path):
    r = run_cli("check", str(_write(tmp_path, LENIENT)), "--json", "--images", "3", "--repeats", "1")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["passed"] and {row["key"] for row in rep["rows"]} == {
        "accuracy.min.number_exact", "accuracy.max.digit_cer", "latency.p95_ms", "memory.max_model_mb",
        "memory.max_rss_mb", "throughput.qps", "serving.target"}
    assert any("see pocketocr report online" in n for n in rep["notes"])  # end-to-end kept apart


@needs_models
def test_check_fails_an_impossible_latency_naming_the_line(tmp_path):
    path = _write(tmp_path, LENIENT.replace("p95_ms = 100000", "p95_ms = 0.0001"))
    r = run_cli("check", str(path), "--images", "3", "--repeats", "1")
    assert r.returncode == 1
    assert f"{path}:8: latency.p95_ms requires <= 0.0001 ms" in r.stderr
    assert "FAIL" in r.stdout and "FAILED: 1 of 7" in r.stdout


@needs_models
def test_check_fails_an_unmet_accuracy_and_an_unknown_metric(tmp_path):
    text = LENIENT.replace("min = {number_exact = 0.0}", "min = {number_exact = 1.01, no_such_metric = 0.5}")
    r = run_cli("check", str(_write(tmp_path, text)), "--json", "--images", "3", "--repeats", "1")
    assert r.returncode == 1
    failed = {row["key"]: row for row in json.loads(r.stdout)["rows"] if not row["passed"]}
    assert set(failed) == {"accuracy.min.number_exact", "accuracy.min.no_such_metric"}
    assert failed["accuracy.min.no_such_metric"]["measured"] == "missing"


def test_check_missing_model_is_a_clear_error(tmp_path):
    text = LENIENT.replace('path = "shipped"', f'path = "{tmp_path / "nowhere"}"')
    r = run_cli("check", str(_write(tmp_path, text)))
    assert r.returncode == 2 and "req.toml:2: [model]" in r.stderr and "Traceback" not in r.stderr


def test_formula_requirements_with_a_missing_model(tmp_path):
    """The formula file with its model path pointing nowhere: a clear one-line error naming the line."""
    text = (ROOT / "requirements" / "formula.toml").read_text()
    text = text.replace('path = "shipped"', f'path = "{tmp_path / "nowhere.onnx"}"')
    assert "nowhere.onnx" in text
    r = run_cli("check", str(_write(tmp_path, text)))
    assert r.returncode == 2 and "[model]" in r.stderr and "Traceback" not in r.stderr


def test_formula_requirements_with_a_missing_dataset_say_how_to_get_one(tmp_path):
    """The shipped formula file names the trainer's validation set; without it, one line says which
    command writes it (formula pages cannot be generated on the spot like synthetic cards)."""
    text = (ROOT / "requirements" / "formula.toml").read_text()
    assert 'dataset = "../runs/formula/val_scan_s12_n60"' in text
    r = run_cli("check", str(_write(tmp_path, text)))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "val_scan_s12_n60 is missing" in r.stderr and "pocketocr train formula" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
