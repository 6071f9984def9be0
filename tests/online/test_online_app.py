"""The collector over real HTTP (`pocketocr serve` in a subprocess), on SQLite and on PostgreSQL:
the answers of POST /v1/events, and that a refused request stores nothing."""

from __future__ import annotations

import gzip
import http.client
import json
from pathlib import Path

from pocketocr.online.schema import MAX_BODY_BYTES, MAX_EVENTS, SCHEMA_PATH
from pocketocr.online.storage import open_store

from .helpers import (
    Collector,
    card_result,
    card_submitted,
    cli,
    create_key,
    feedback,
    formula_submitted,
    image_b64,
    post_events,
    request,
)


def _count(db: str) -> int:
    store = open_store(db, create=False)
    try:
        return store.count_events()
    finally:
        store.close()


def test_accepts_batches_and_ignores_duplicates(collector: tuple[Collector, str]) -> None:
    c, key = collector
    assert request("GET", c.url + "/healthz") == (200, {"status": "ok", "version": "0.1.0"})
    batch = [card_result("s1"), card_submitted("s1", number=1), feedback("s1", "nice")]
    assert post_events(c.url, batch, key) == (200, {"accepted": 3, "duplicates": 0})
    # a client retrying the same batch, plus one new event and one repeated inside the batch
    new = card_result("s2")
    assert post_events(c.url, [*batch, new, new], key) == (200, {"accepted": 1, "duplicates": 4})
    assert post_events(c.url, [], key) == (200, {"accepted": 0, "duplicates": 0})
    assert _count(c.db) == 4


def test_refused_requests_store_nothing(collector: tuple[Collector, str]) -> None:
    c, key = collector
    good = [card_result("s1"), card_result("s2")]
    bad_event = card_result("s3")
    bad_event["ts"] = "2025-03-01T10:00:00"  # no zone
    cases = [
        ("no key", post_events(c.url, good, None), 401),
        ("wrong key", post_events(c.url, good, key[:-2] + "xx"), 401),
        ("basic auth", post_events(c.url, good, None, headers={"Authorization": f"Basic {key}"}), 401),
        ("malformed JSON", post_events(c.url, b'[{"event_id": ', key), 400),
        ("object instead of array", post_events(c.url, {"events": good}, key), 422),
        ("one naive timestamp", post_events(c.url, [*good, bad_event], key), 422),
        ("wrong types", post_events(c.url, [{**good[0], "latency_ms": {"model": "40", "end_to_end": 1}}], key),
         422),
        ("missing fields", post_events(c.url, [{"event_id": "x", "type": "feedback"}], key), 422),
        ("unknown event type", post_events(c.url, [{**good[0], "type": "scan_started"}], key), 422),
        ("huge string", post_events(c.url, [feedback("s", "x" * 500_000)], key), 422),
        ("image on a card", post_events(c.url, [card_submitted("s", consent=True,
                                                               image={"media_type": "image/png",
                                                                      "data": image_b64()})], key), 422),
        ("too many events", post_events(c.url, [card_result(f"s{i}") for i in range(MAX_EVENTS + 1)], key), 413),
        ("body over 1 MiB", post_events(c.url, [feedback("s", "x" * (MAX_BODY_BYTES + 10))], key), 413),
        ("gzip body", post_events(c.url, gzip.compress(json.dumps(good).encode()), key,
                                  headers={"Content-Encoding": "gzip"}), 415),
    ]
    for name, (status, body), expected in cases:
        assert status == expected, (name, status, body)
        assert isinstance(body, dict) and body.get("detail"), (name, body)
    status, body = post_events(c.url, [*good, bad_event], key)
    assert body["errors"][0]["index"] == 2 and body["errors"][0]["errors"][0]["loc"] == ["ts"]
    assert _count(c.db) == 0
    assert post_events(c.url, good, key)[0] == 200 and _count(c.db) == 2


def test_oversized_chunked_body_gets_413(collector: tuple[Collector, str]) -> None:
    c, key = collector

    def chunks():  # no Content-Length: the server has to count while reading
        piece = b" " * 65536
        yield b"["
        for _ in range(MAX_BODY_BYTES // len(piece) + 2):
            yield piece
        yield b"]"

    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    conn.request("POST", "/v1/events", body=chunks(), encode_chunked=True,
                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 413, resp.read()
    conn.close()
    assert _count(c.db) == 0


def test_revoked_keys_stop_working(collector: tuple[Collector, str]) -> None:
    c, key = collector
    other = create_key(c.db, "second")
    assert post_events(c.url, [card_result("s")], other)[0] == 200
    out = cli("serve", "keys", "revoke", "second", "--db", c.db)
    assert out.returncode == 0, out.stderr
    assert post_events(c.url, [card_result("s")], other)[0] == 401
    assert post_events(c.url, [card_result("s")], key)[0] == 200
    listed = [json.loads(line) for line in cli("serve", "keys", "list", "--db", c.db).stdout.splitlines()]
    assert {k["name"]: k["revoked_at"] is not None for k in listed} == {"test": False, "second": True}
    assert all(key not in json.dumps(k) and other not in json.dumps(k) for k in listed)


def test_consented_formula_image_round_trip(collector: tuple[Collector, str]) -> None:
    c, key = collector
    img = image_b64("JPEG", (80, 60))
    e = formula_submitted("f1", adjusted=2, consent=True, image={"media_type": "image/jpeg", "data": img},
                          boxes=[[1, 1, 20, 10, "embedded"]])
    assert post_events(c.url, [e], key) == (200, {"accepted": 1, "duplicates": 0})
    store = open_store(c.db, create=False)
    media_type, data = store.image(e["event_id"])
    (stored,) = store.events()
    store.close()
    assert media_type == "image/jpeg" and data[:3] == b"\xff\xd8\xff"
    assert stored.body["image"]["width"] == 80 and stored.body["boxes"] == [[1.0, 1.0, 20.0, 10.0, "embedded"]]


def test_schema_endpoint_serves_the_shipped_file(collector: tuple[Collector, str]) -> None:
    c, _ = collector
    assert request("GET", c.url + "/v1/schema") == (200, json.loads(SCHEMA_PATH.read_text()))


def test_cors_for_the_demo_origin(sqlite_url: str, tmp_path: Path) -> None:
    key = create_key(sqlite_url)
    c = Collector(sqlite_url, tmp_path / "serve.log", ("--cors-origin", "http://localhost:5173")).start()
    try:
        preflight = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"}
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        conn.request("OPTIONS", "/v1/events", headers=preflight)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert resp.getheader("access-control-allow-origin") == "http://localhost:5173"
        assert "authorization" in resp.getheader("access-control-allow-headers").lower()
        conn.request("OPTIONS", "/v1/events", headers={**preflight, "Origin": "https://evil.example"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 400 and resp.getheader("access-control-allow-origin") is None
        conn.request("POST", "/v1/events", body=json.dumps([card_result("s")]),
                     headers={"Origin": "http://localhost:5173", "Authorization": f"Bearer {key}",
                              "Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read()) == {"accepted": 1, "duplicates": 0}
        assert resp.getheader("access-control-allow-origin") == "http://localhost:5173"
        conn.close()
    finally:
        c.stop()


def test_keys_create_prints_the_key_alone_on_the_last_line(sqlite_url: str) -> None:
    out = cli("serve", "keys", "create", "demo-web", "--db", sqlite_url)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and lines[-1].startswith("pok_") and " " not in lines[-1]
    store = open_store(sqlite_url, create=False)
    assert store.check_key(lines[-1]) == "demo-web"
    store.close()
    assert cli("serve", "keys", "create", "demo-web", "--db", sqlite_url).returncode == 1


def test_a_lost_postgresql_connection_gives_503_then_recovers(pg_server, tmp_path: Path) -> None:
    import psycopg

    url = pg_server.create_db()
    key = create_key(url)
    c = Collector(url, tmp_path / "serve.log").start()
    try:
        assert post_events(c.url, [card_result("a")], key)[0] == 200
        with psycopg.connect(url, autocommit=True) as conn:  # as a database restart would
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        retry = [card_result("b")]
        status, body = post_events(c.url, retry, key)
        assert status == 503 and "retry" in body["detail"]
        assert post_events(c.url, retry, key) == (200, {"accepted": 1, "duplicates": 0})
        assert _count(url) == 2
        assert "storage" in c.log() or "key check failed" in c.log()
    finally:
        c.stop()
