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


@pytest.mark.parametrize("backend", ["onnx", "tflite"])
def test_formula_bench_runs_on_both_backends(backend):
    if backend == "tflite":
        pytest.importorskip("ai_edge_litert")
    r = run_cli("bench", "formula", "--backend", backend, "--images", "2", "--repeats", "1", "--threads", "1",
                "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d["latency_ms"]) == ["1"] and d["throughput"]["qps"] > 0


def test_bench_images_fall_back_to_the_bundled_formula_pages(monkeypatch):
    """Without the [train] extra the formula benchmark reads the bundled synthetic pages."""
    import builtins

    from pocketocr.bench import bench_images

    real_import = builtins.__import__

    def no_training(name, *args, **kwargs):
        if "training" in name or (args and len(args) > 2 and args[2] and "training" in str(args[2])):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_training)
    images, source = bench_images("formula", 3)
    assert len(images) == 3 and "bundled examples (2 files" in source


@needs_models
def test_cli_bench_json():
    r = run_cli("bench", "card", "--images", "2", "--repeats", "1", "--threads", "1", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d["latency_ms"]) == ["1"] and d["throughput"]["qps"] > 0


def test_take_turns_reports_ratios_and_agreement_against_the_first_contender():
    import time

    from pocketocr.bench import take_turns

    def fast(x):
        return x % 3

    def slow(x):
        time.sleep(0.004)
        return x % 3 if x < 6 else -1  # disagrees on 2 of 8 inputs

    stats = take_turns({"fast": fast, "slow": slow}, list(range(8)), repeats=2)
    assert list(stats) == ["fast", "slow"]
    assert stats["fast"].vs_base == 1.0 and stats["fast"].same_as_base == 1.0
    assert stats["slow"].median >= 4.0 and stats["slow"].vs_base > 1.0 and stats["slow"].p95 >= stats["slow"].median
    assert stats["slow"].same_as_base == 0.75
