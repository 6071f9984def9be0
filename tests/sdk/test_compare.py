"""`pocketocr compare` (pocketocr/compare.py): shortlist rules, disagreement detection, masking, the CLI."""

from __future__ import annotations

import json

import pytest
from pocketocr import compare as cmp
from pocketocr.compare import CandidateScore, _shortlist
from pocketocr.zoo import MODELS_DIR, list_models

from tests.conftest import EXAMPLES, run_cli

# These run the shipped card models; before the first trained release there are none.
needs_models = pytest.mark.skipif(not any(m.task == "card" for m in list_models()),
                                  reason="no card models shipped in pocketocr/models yet")


def _score(name, exact, size, p95):
    return CandidateScore(name, [], size, 0.0, {"p50": p95 / 2, "p95": p95}, {"number_exact": exact}, {})


def test_shortlist_tolerance_and_domination():
    scores = [_score("best_big", 0.950, 4.0, 30), _score("close_small", 0.945, 1.0, 20),
              _score("close_dominated", 0.944, 2.0, 25), _score("far", 0.90, 0.5, 5)]
    short, why = _shortlist(scores, "number_exact", 0.01)
    # best_big is within tolerance but close_small is smaller and faster: accuracy within 1 pt does not
    # buy a place on the shortlist
    assert short == ["close_small"]
    assert "dominated by close_small" in why["close_dominated"] and "dominated by close_small" in why["best_big"]
    assert "below the best" in why["far"]
    short, _ = _shortlist(scores[:1] + scores[3:], "number_exact", 0.01)
    assert short == ["best_big"]  # nothing close enough to dominate it


def test_disagreements_found_and_masked(monkeypatch, tmp_path):
    """Two fake candidates that differ on one of two samples: only that one is in the gallery, masked."""
    def fake_score(c, dataset, backend):
        out = "4111111111111111" if c.name == "a" else "4111111111111129"
        samples = [{"file": "1.jpg", "_raw": ("5500005555555559", "01/30"), "truth_number": "550000******5559",
                    "pred_expiry": "01/30", "number_exact": True, "slices": {}},
                   {"file": "2.jpg", "_raw": (out, None), "truth_number": "411111******1111", "pred_expiry": None,
                    "number_exact": c.name == "a", "slices": {}}]
        return _score(c.name, 1.0 if c.name == "a" else 0.5, 1.0, 10), samples

    monkeypatch.setattr(cmp, "_score_card", fake_score)
    monkeypatch.setattr(cmp, "_card_candidate", lambda name, spec: cmp.Candidate(name, []))
    rep = cmp.compare("card", ["x", "y"], tmp_path, names=["a", "b"])
    assert [d["file"] for d in rep.disagreements] == ["2.jpg"] and rep.n_samples == 2
    text = rep.to_json() + cmp.compare_html(rep, tmp_path)
    assert "4111111111111111" not in text and "4111111111111129" not in text
    assert "411111******1129" in text and rep.shortlist == ["a"]


def test_needs_two_candidates(tmp_path):
    from pocketocr.errors import PocketOCRError

    with pytest.raises(PocketOCRError):
        cmp.compare("card", [str(MODELS_DIR)], tmp_path)


@needs_models
def test_cli_compare_on_the_bundled_examples(tmp_path):
    """The shipped ONNX pair against the shipped TFLite pair on the bundled synthetic examples."""
    pytest.importorskip("ai_edge_litert")
    tfl = sorted(MODELS_DIR.glob("card_*.int8.tflite"))
    if len(tfl) != 2:
        pytest.fail("the int8 TFLite card models are not shipped in pocketocr/models")
    html = tmp_path / "cmp.html"
    r = run_cli("compare", str(MODELS_DIR), f"{tfl[0]},{tfl[1]}", "--dataset", str(EXAMPLES), "--json",
                "--html", str(html))
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert len(rep["candidates"]) == 2 and rep["primary"] == "number_exact" and rep["shortlist"]
    assert all(c["size_mb"] > 0 and c["latency_ms"]["p95"] > 0 for c in rep["candidates"])
    assert any(k.startswith("scene=") for k in rep["candidates"][0]["slices"])
    page = html.read_text()
    labels = [json.loads(x) for x in (EXAMPLES / "labels.jsonl").read_text().splitlines()]
    for text in (page, r.stdout):
        assert not any(lab["number"] in text for lab in labels)  # numbers only ever masked
