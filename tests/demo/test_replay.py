"""`pocketocr demo replay`: the web app over a labelled synthetic set, a simulated user correcting each wrong
field; the online correction rate must equal the offline needs-correction rate of `pocketocr eval card`."""

from __future__ import annotations

import json

import pytest

from .conftest import ARTIFACTS, MODELS, cli, free_port

pytestmark = pytest.mark.slow


def test_replay_correction_rate_equals_offline_needs_correction(dist, tmp_path, collector_factory):
    from pocketocr.training.card.synth import write_dataset

    data = write_dataset(tmp_path / "cards", n=8, seed=4242, progress=False, version=2)  # pinned images
    offline = cli("eval", "card", str(data), "--json", "--samples", "--no-progress",
                  "--det-model", str(MODELS / "card_det.int8.onnx"), "--rec-model", str(MODELS / "card_rec.int8.onnx"))
    assert offline.returncode == 0, offline.stderr
    ev = json.loads(offline.stdout)
    app_port = free_port()
    col = collector_factory(app_port)
    proc = cli("demo", "replay", str(data), "--collector", col.url, "--api-key", col.key, "--port", str(app_port),
               "--screenshots", str(ARTIFACTS), "--models", str(MODELS), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    replay = json.loads(proc.stdout)
    rep = col.report()
    print(f"offline needs_correction {ev['needs_correction']}, online correction_rate {rep['correction_rate']} "
          f"(n={rep['n_submitted']}), replay corrected {replay['corrected']}/{replay['n']}")
    assert rep["n_submitted"] == replay["n"] == ev["n"] == 8
    assert rep["correction_rate"] == pytest.approx(ev["needs_correction"], abs=1e-12)
    assert replay["number_ok"] == sum(r["number_exact"] for r in ev["samples"])
