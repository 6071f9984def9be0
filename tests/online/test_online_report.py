"""pocketocr.online.report, .render and `pocketocr report online`: exact rates for a known event mix,
Wilson intervals against hand-computed values, latency percentiles, VoC, filters, HTML."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from pocketocr.online.ingest import parse_batch
from pocketocr.online.render import online_html
from pocketocr.online.report import build_online_report, percentile, wilson
from pocketocr.online.storage import Store, open_store
from pocketocr.online.timestamps import parse_since

from .helpers import PAN, Collector, cli, create_key, known_mix, post_events

Z = 1.959963984540054


def _wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """The interval's ends are the roots p of (k/n - p)^2 = z^2 p (1 - p) / n, a quadratic in p."""
    ph = k / n
    a = 1 + Z * Z / n
    b = -(2 * ph + Z * Z / n)
    c = ph * ph
    disc = math.sqrt(b * b - 4 * a * c)
    return (-b - disc) / (2 * a), (-b + disc) / (2 * a)


@pytest.fixture
def mix_store(tmp_path: Path) -> Store:
    store = open_store(tmp_path / "mix.sqlite3")
    batch = parse_batch(json.dumps(known_mix()).encode())
    assert store.insert_batch(batch.events) == len(batch.events)
    yield store
    store.close()


def test_wilson_matches_hand_computation_and_published_values() -> None:
    for k, n in [(8, 19), (3, 10), (4, 5), (1, 4), (6, 15), (1, 14), (0, 7), (7, 7), (123, 4567)]:
        assert wilson(k, n) == pytest.approx(list(_wilson_by_hand(k, n)), abs=1e-12), (k, n)
    assert wilson(5, 10) == pytest.approx([0.2366, 0.7634], abs=5e-5)  # textbook values
    assert wilson(0, 10) == pytest.approx([0.0, 0.2775], abs=5e-5)
    assert wilson(10, 10)[1] == 1.0 and wilson(0, 10)[0] == 0.0
    assert wilson(0, 0) is None


def test_percentile_is_numpy_linear() -> None:
    xs = [float(x) for x in np.random.default_rng(1).gamma(2.0, 50.0, 101)]
    for q in (0.5, 0.95, 0.99, 0.0, 1.0):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q * 100)), rel=1e-12)
    assert percentile([], 0.5) is None


def test_known_mix_rates_are_exact(mix_store: Store) -> None:
    r = build_online_report(mix_store)
    assert (r["n_sessions"], r["n_submitted"], r["n_edited"], r["n_abandoned"], r["n_open"]) == (23, 19, 8, 3, 1)
    assert r["correction_rate"] == 8 / 19
    assert r["correction_rate_ci95"] == pytest.approx(list(_wilson_by_hand(8, 19)), abs=1e-12)
    assert r["per_field"] == {"number": 6 / 15, "expiry": 1 / 14, "boxes": 1 / 4}
    assert r["per_field_counts"]["expiry"] == {"edited": 1, "n": 14, "ci95": wilson(1, 14)}
    assert r["abandon_rate"] == 3 / 22 and r["abandon_rate_ci95"] == wilson(3, 22)
    assert r["abandon_reasons"] == {"user_cancelled": 1, "camera_error": 1, "manual_entry": 1}

    by_model = r["by_model_version"]
    assert {v: (s["n_sessions"], s["n_submitted"], s["n_edited"]) for v, s in by_model.items()} == {
        "card-1.0": (13, 10, 3), "card-2.0": (6, 5, 4), "formula-1.0": (4, 4, 1)}
    assert by_model["card-1.0"]["correction_rate"] == 0.3 and by_model["card-2.0"]["correction_rate"] == 0.8
    assert by_model["card-1.0"]["per_field"] == {"number": 0.2, "expiry": 1 / 9}
    assert by_model["card-1.0"]["by_day"]["2025-03-01"]["correction_rate"] == 3 / 5
    assert by_model["card-1.0"]["by_day"]["2025-03-02"]["correction_rate"] == 0 / 5
    assert {v: s["n_submitted"] for v, s in r["by_app_version"].items()} == {"1.0.0": 10, "1.1.0": 9}
    assert r["by_app_version"]["1.1.0"]["correction_rate"] == 5 / 9
    assert {p: (s["n_sessions"], s["correction_rate"]) for p, s in r["by_device_platform"].items()} == {
        "android": (17, 4 / 14), "ios": (6, 0.8)}
    assert {t: s["correction_rate"] for t, s in r["by_task"].items()} == {"card": 7 / 15, "formula": 0.25}
    # the +01:00 timestamps of day 2 fall on 2025-03-02 in UTC too
    assert {d: (s["n_sessions"], s["n_submitted"]) for d, s in r["by_day"].items()} == {
        "2025-03-01": (7, 5), "2025-03-02": (16, 14)}
    assert "alerts" in r and r["alerts"] == [] and "alert" not in by_model["card-1.0"]


def test_latency_percentiles(mix_store: Store) -> None:
    r = build_online_report(mix_store)
    results = [e for e in known_mix() if e["type"] == "scan_result"]
    for key in ("model", "end_to_end"):
        xs = [e["latency_ms"][key] for e in results]
        got = r["latency_ms"][key]
        assert got["n"] == len(xs) == 23
        for q in (50, 95, 99):
            assert got[f"p{q}"] == pytest.approx(float(np.percentile(xs, q)), rel=1e-12)
        assert sum(got["histogram"]["counts"]) == 23
    card2 = r["by_model_version"]["card-2.0"]["latency_ms"]["model"]
    assert card2["p50"] == pytest.approx(float(np.percentile([20, 21, 22, 23, 24, 25], 50)))


def test_feedback_voc(mix_store: Store) -> None:
    fb = build_online_report(mix_store, latest=3)["feedback"]
    assert fb["n"] == 4
    assert fb["by_category"] == {"wrong_number": 2, "slow": 1, "uncategorized": 1}
    assert fb["rating"]["n"] == 3 and fb["rating"]["mean"] == 2.0
    assert [x["text"] for x in fb["latest"]] == ["love it", "too slow", "<script>alert('x')</script> wrong digits"]
    assert [x["text"] for x in fb["examples"]["wrong_number"]][-1] == "It read my card 4111 11** **** 1111 wrong"


def test_filters_and_alerts(mix_store: Store) -> None:
    day2 = build_online_report(mix_store, since=parse_since("2025-03-02"))
    assert (day2["n_sessions"], day2["n_submitted"], day2["n_edited"]) == (16, 14, 5)
    assert day2["feedback"]["n"] == 2
    cards = build_online_report(mix_store, task="card", alert_above=0.5)
    assert (cards["n_submitted"], cards["correction_rate"]) == (15, 7 / 15)
    assert set(cards["by_model_version"]) == {"card-1.0", "card-2.0"}
    assert cards["alerts"] == ["card-2.0"]
    assert cards["by_model_version"]["card-2.0"]["alert"] and not cards["by_model_version"]["card-1.0"]["alert"]
    empty = build_online_report(mix_store, since=parse_since("2030-01-01T00:00:00Z"))
    assert empty["n_sessions"] == 0 and empty["correction_rate"] is None and empty["correction_rate_ci95"] is None
    assert "<h1>" in online_html(empty)


def test_html_report(mix_store: Store, tmp_path: Path) -> None:
    page = online_html(build_online_report(mix_store, alert_above=0.5))
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 4
    for heading in ("Correction rate over time, per model version", "Latency", "Voice of the customer",
                    "By model version", "By app version", "By device platform"):
        assert heading in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # feedback text is escaped
    assert "<tr class=alert><td><span class=flag>⚠ </span>card-2.0</td>" in page
    assert page.count("<tr class=alert>") == 1
    assert "src=" not in page and "href=" not in page  # self-contained
    assert PAN not in page and "4111 1111 1111 1111" not in page


@pytest.mark.timeout(240)
def test_cli_report_on_a_running_collector(db_url: str, tmp_path: Path) -> None:
    key = create_key(db_url)
    c = Collector(db_url, tmp_path / "serve.log").start()
    try:
        events = known_mix()
        for i in range(0, len(events), 10):
            assert post_events(c.url, events[i:i + 10], key)[0] == 200
        html = tmp_path / "out" / "report.html"
        out = cli("report", "online", "--db", db_url, "--json", "--html", str(html), "--alert-above", "50%")
        assert out.returncode == 0, out.stderr
        r = json.loads(out.stdout)
        assert r["correction_rate"] == 8 / 19 and r["n_submitted"] == 19 and r["n_sessions"] == 23
        assert r["alerts"] == ["card-2.0"] and r["pans_masked"] == 1
        assert html.read_text().count("<svg") >= 4
        text = cli("report", "online", "--db", db_url, "--since", "2025-03-02")
        assert text.returncode == 0 and "correction rate 35.7%" in text.stdout  # 5/14
    finally:
        c.stop()


def test_cli_report_errors(tmp_path: Path) -> None:
    missing = cli("report", "online", "--db", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 1 and "no database" in missing.stderr
    assert not (tmp_path / "none.sqlite3").exists()
    bad = cli("report", "online", "--db", str(tmp_path / "x.db"), "--since", "yesterday")
    assert bad.returncode == 1 and "--since" in bad.stderr
    assert cli("report", "online", "--alert-above", "150").returncode == 2
