"""pocketocr.online.gap and `pocketocr report gap`: offline needs-correction beside online correction rate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pocketocr.online.gap import OfflineEvalError, build_gap_report, load_offline
from pocketocr.online.ingest import parse_batch
from pocketocr.online.render import gap_html
from pocketocr.online.report import wilson
from pocketocr.online.storage import open_store

from .helpers import card_result, card_submitted, cli, known_mix


def _eval(version: str | None, rate: float, task: str = "card", n: int = 500) -> dict:
    """The shape of `pocketocr eval card DATASET --json` (only the keys the gap report reads matter)."""
    out = {"n": n, "task": task, "number_exact": 1 - rate, "digit_cer": 0.001, "expiry_exact": 0.99,
           "needs_correction": rate, "review_rate": 0.02, "latency_ms": {"p50": 30}, "slices": {}}
    if version is not None:
        out["model_version"] = version
    return out


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    events = known_mix()
    # the model that scores 99% offline while its users correct every reading
    for i in range(20):
        events += [card_result(f"bad-{i}", model="card-bad"), card_submitted(f"bad-{i}", number=4, model="card-bad")]
    store = open_store(url)
    store.insert_batch(parse_batch(json.dumps(events).encode()).events)
    store.close()
    return url


@pytest.fixture
def offline_file(tmp_path: Path) -> Path:
    path = tmp_path / "eval.json"
    path.write_text(json.dumps([_eval("card-1.0", 0.28), _eval("card-2.0", 0.76), _eval("card-bad", 0.01),
                                _eval("formula-1.0", 0.22, task="formula"), _eval("card-3.0", 0.05)]))
    return path


def test_gap_per_version(db: str, offline_file: Path) -> None:
    store = open_store(db, create=False)
    gap = build_gap_report(load_offline([offline_file]), store)
    store.close()
    rows = {r["model_version"]: r for r in gap["versions"]}
    assert set(rows) == {"card-1.0", "card-2.0", "card-bad", "formula-1.0", "card-3.0"}
    assert rows["card-1.0"]["online_correction_rate"] == 0.3 and rows["card-1.0"]["gap"] == pytest.approx(0.02)
    assert rows["card-2.0"]["gap"] == pytest.approx(0.04) and rows["card-2.0"]["flagged"]
    bad = rows["card-bad"]
    assert (bad["offline_needs_correction"], bad["online_correction_rate"], bad["online_n_submitted"]) == (0.01, 1.0, 20)
    assert bad["flagged"] and bad["offline_in_online_ci95"] is False
    assert bad["online_correction_rate_ci95"] == wilson(20, 20)
    # 0.25 - 0.22 is 0.030000000000000027 in floats; exactly 3 points is not "more than 3 points"
    assert rows["formula-1.0"]["gap"] == pytest.approx(0.03) and not rows["formula-1.0"]["flagged"]
    assert rows["formula-1.0"]["task"] == "formula"
    assert rows["card-3.0"]["gap"] is None and rows["card-3.0"]["online_n_submitted"] == 0
    assert not rows["card-3.0"]["flagged"]
    assert gap["flagged"] == ["card-2.0", "card-bad"]
    page = gap_html(gap)
    assert "card-bad" in page and page.count("<tr class=alert>") == 2 and "<svg" in page


def test_threshold_is_configurable(db: str, offline_file: Path) -> None:
    store = open_store(db, create=False)
    gap = build_gap_report(load_offline([offline_file]), store, max_gap=0.02)
    store.close()
    assert gap["flagged"] == ["card-2.0", "card-bad", "formula-1.0"]  # card-1.0 is exactly 2 points off


def test_offline_files(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(_eval(None, 0.1)))
    assert load_offline([one], model_version="card-9")[0]["model_version"] == "card-9"
    with pytest.raises(OfflineEvalError, match="model_version"):
        load_offline([one])
    two = tmp_path / "two.json"
    two.write_text(json.dumps([_eval("a", 0.1), _eval("b", 0.2)]))
    with pytest.raises(OfflineEvalError, match="exactly one"):
        load_offline([two], model_version="x")
    with pytest.raises(OfflineEvalError, match="twice|two offline"):
        load_offline([two, two])
    for bad in [{"model_version": "a"}, {"model_version": "a", "needs_correction": 1.5},
                {"model_version": "a", "needs_correction": "0.1"}, [1]]:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        with pytest.raises(OfflineEvalError):
            load_offline([path])
    with pytest.raises(OfflineEvalError, match="cannot read"):
        load_offline([tmp_path / "missing.json"])


def test_cli_gap(db: str, offline_file: Path, tmp_path: Path) -> None:
    html = tmp_path / "gap.html"
    out = cli("report", "gap", "--offline", str(offline_file), "--db", db, "--json", "--html", str(html))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["flagged"] == ["card-2.0", "card-bad"]
    assert "card-bad" in html.read_text()
    text = cli("report", "gap", "--offline", str(offline_file), "--db", db, "--max-gap", "5%", "--fail-on-gap")
    assert text.returncode == 3 and "card-bad" in text.stdout and "GAP" in text.stdout
    single = tmp_path / "single.json"
    single.write_text(json.dumps(_eval(None, 0.3)))
    ok = cli("report", "gap", "--offline", str(single), "--model-version", "card-1.0", "--db", db, "--json",
             "--fail-on-gap")
    rows = {r["model_version"]: r for r in json.loads(ok.stdout)["versions"]}
    assert ok.returncode == 0 and rows["card-1.0"]["gap"] == pytest.approx(0.0)
    err = cli("report", "gap", "--offline", str(single), "--db", db)
    assert err.returncode == 1 and "model_version" in err.stderr
