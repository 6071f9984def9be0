"""A full card number sent to a running collector reaches no database file, log line or report.

The number goes in feedback text (spaced, dashed and bare), in the `masked` field by mistake, in a
device string and in an invalid event; then the raw bytes of every file that could hold it are searched.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from .helpers import PAN, PAN_FORMS, Collector, card_result, cli, create_key, feedback, post_events

pytestmark = pytest.mark.slow


def _leaks(data: bytes) -> list[str]:
    """The PAN forms present in `data`, also with every space and dash removed."""
    squeezed = data.replace(b" ", b"").replace(b"-", b"")
    found = [form for form in PAN_FORMS if form.encode() in data]
    if PAN.encode() in squeezed:
        found.append("digits with separators removed")
    # the JSON-escaped and UTF-16 forms a database might use
    if PAN.encode("utf-16-le") in data:
        found.append("utf-16")
    return found


def _post_pans(c: Collector, key: str) -> None:
    bad_masked = card_result("p1")
    bad_masked["fields"]["number"]["masked"] = PAN
    events = [
        feedback("p1", f"it charged {PAN_FORMS[1]} twice", "wrong_number", 1),
        feedback("p2", f"card {PAN_FORMS[2]} exp 09/27"),
        feedback("p3", f"number {PAN} then 0927 and cvv 123"),
        bad_masked,
        {**card_result("p4"), "device": {"platform": "android", "model": f"Pixel {PAN}", "os": "Android 14"}},
    ]
    status, body = post_events(c.url, events, key)
    assert status == 200 and body == {"accepted": 5, "duplicates": 0}
    invalid = feedback("p5", f"again {PAN}", rating=11)
    status, body = post_events(c.url, [invalid], key)
    assert status == 422 and not _leaks(json.dumps(body).encode())


def test_a_full_pan_never_reaches_sqlite_logs_or_reports(sqlite_url: str, tmp_path: Path) -> None:
    key = create_key(sqlite_url)
    c = Collector(sqlite_url, tmp_path / "serve.log").start()
    try:
        _post_pans(c, key)
        db_files = list(tmp_path.glob("events.sqlite3*"))
        assert {p.name for p in db_files} >= {"events.sqlite3", "events.sqlite3-wal"}
        for path in db_files:  # while running: the WAL holds the new pages
            assert not _leaks(path.read_bytes()), path
        outputs = _reports(sqlite_url, tmp_path)
    finally:
        c.stop()
    for path in tmp_path.glob("events.sqlite3*"):  # after the checkpoint at shutdown
        assert not _leaks(path.read_bytes()), path
    log = c.log()
    assert "masked 5 card numbers" in log  # counted, not shown
    assert not _leaks(log.encode())
    for name, data in outputs.items():
        assert not _leaks(data), name
    # control: a number written around the collector is found by the same search
    conn = sqlite3.connect(tmp_path / "events.sqlite3")
    conn.execute("CREATE TABLE control (t TEXT)")
    conn.execute("INSERT INTO control VALUES (?)", (f"x {PAN} x",))
    conn.commit()
    conn.close()
    assert any(_leaks(p.read_bytes()) for p in tmp_path.glob("events.sqlite3*"))


def test_a_full_pan_never_reaches_postgresql(pg_server, tmp_path: Path) -> None:
    url = pg_server.create_db()
    key = create_key(url)
    c = Collector(url, tmp_path / "serve.log").start()
    try:
        _post_pans(c, key)
        outputs = _reports(url, tmp_path)
    finally:
        c.stop()
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CHECKPOINT")  # flush to the data files, which are then searched byte by byte
        dump = repr(conn.execute("SELECT * FROM events").fetchall()).encode()
    assert not _leaks(dump)
    for path in pg_server.data.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert not _leaks(path.read_bytes()), path
    assert not _leaks((pg_server.root / "server.log").read_bytes())
    assert not _leaks(c.log().encode())
    for name, data in outputs.items():
        assert not _leaks(data), name
    # control: a number written around the collector is found by the same search of the data files
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE control (t TEXT)")
        conn.execute("INSERT INTO control VALUES (%s)", (f"x {PAN} x",))
        conn.commit()
        conn.execute("CHECKPOINT")
    assert any(_leaks(p.read_bytes()) for p in pg_server.data.rglob("*") if p.is_file() and not p.is_symlink())


def _reports(db: str, tmp_path: Path) -> dict[str, bytes]:
    """Every report output, as bytes: online JSON/text/HTML, gap JSON/HTML, exported feedback."""
    html = tmp_path / "online.html"
    online = cli("report", "online", "--db", db, "--json", "--html", str(html))
    assert online.returncode == 0, online.stderr
    report = json.loads(online.stdout)
    assert report["pans_masked"] == 5 and report["feedback"]["n"] == 3
    assert "4111 11** **** 1111" in online.stdout  # the masked form is kept, for context
    text = cli("report", "online", "--db", db)
    offline = tmp_path / "eval.json"
    offline.write_text(json.dumps({"model_version": "card-1.0", "task": "card", "needs_correction": 0.1}))
    gap_html = tmp_path / "gap.html"
    gap = cli("report", "gap", "--offline", str(offline), "--db", db, "--json", "--html", str(gap_html))
    assert gap.returncode == 0, gap.stderr
    export = cli("export-feedback", "--db", db, "--out", str(tmp_path / "ds"))
    assert export.returncode == 0, export.stderr
    out = {"online json": online.stdout.encode(), "online stderr": online.stderr.encode(),
           "online text": text.stdout.encode(), "online html": html.read_bytes(), "gap json": gap.stdout.encode(),
           "gap html": gap_html.read_bytes(), "export": export.stdout.encode()}
    for path in (tmp_path / "ds").rglob("*"):
        if path.is_file():
            out[f"export {path.name}"] = path.read_bytes()
    return out


def test_leak_detector_finds_what_it_should() -> None:
    assert _leaks(b'{"text": "4111 1111 1111 1111"}')
    assert _leaks(b"x4111-1111-1111-1111x")
    assert _leaks(PAN.encode("utf-16-le"))
    assert not _leaks(b"411111******1111 and 4111 11** **** 1111")
