"""`pocketocr bench` (pocketocr/bench.py): what it reports, not how fast (no timing assertions)."""

from __future__ import annotations

import json

import pytest
from pocketocr.bench import bench, card_pair, cpu_name
from pocketocr.errors import ModelError
from pocketocr.zoo import MODELS_DIR, list_models

from tests.conftest import run_cli

# These run the shipped card models; before the first trained release there are none.
needs_models = pytest.mark.skipif(not any(m.task == "card" for m in list_models()),
                                  reason="no card models shipped in pocketocr/models yet")


@needs_models
def test_bench_reports_every_figure():
    r = bench("card", threads=2, concurrency=2, images=3, repeats=1)
    assert set(r.latency_ms) == {"1", "2"}
    for lat in r.latency_ms.values():
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
    assert r.throughput["concurrency"] == 2 and r.throughput["qps"] > 0 and r.throughput["requests"] >= 3
    assert r.load_ms > 0 and r.peak_rss_mb > 0 and r.model_mb > 0 and len(r.models) == 2
    assert r.cpu == cpu_name() and "cores" in r.cpu
    assert any("pocketocr report online" in n for n in r.notes)
    assert json.loads(r.to_json())["images"] == 3


@needs_models
def test_card_pair_resolution(tmp_path):
    det, rec = card_pair(MODELS_DIR)
    assert det.name.startswith("card_det") and rec.name.startswith("card_rec") and det.suffix == rec.suffix == ".onnx"
    assert card_pair(f"{det},{rec}") == (det, rec)
    with pytest.raises(ModelError):
        card_pair(tmp_path)                     # empty folder
    with pytest.raises(ModelError):
        card_pair(f"{det},{tmp_path / 'x.onnx'}")


def test_formula_bench_is_a_clear_error_or_runs():
    r = run_cli("bench", "formula", "--images", "1", "--repeats", "1", "--json")
    assert "Traceback" not in r.stderr
    assert r.returncode in (0, 2)


@needs_models
def test_cli_bench_json():
    r = run_cli("bench", "card", "--images", "2", "--repeats", "1", "--threads", "1", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d["latency_ms"]) == ["1"] and d["throughput"]["qps"] > 0
