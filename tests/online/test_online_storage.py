"""pocketocr.online.storage on real SQLite and PostgreSQL: atomic batches, duplicates, hashed API keys."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from pocketocr.online.ingest import parse_batch
from pocketocr.online.storage import (
    EventRow,
    PostgresStore,
    SQLiteStore,
    StorageError,
    default_db_path,
    open_store,
    redact_url,
)

from .helpers import card_result, card_submitted, feedback, formula_submitted, image_b64


def _rows(*events: dict) -> list[EventRow]:
    return parse_batch(json.dumps(list(events)).encode()).events


def test_insert_counts_new_events_and_skips_duplicates(db_url: str) -> None:
    store = open_store(db_url)
    a, b, c = card_result("s1"), card_submitted("s1"), feedback("s1", "great")
    assert store.insert_batch(_rows(a, b)) == 2
    assert store.insert_batch(_rows(a, b, c, c)) == 1  # a, b already there; c twice in one batch
    assert store.count_events() == 3
    stored = store.events()
    assert sorted(e.event_id for e in stored) == sorted([a["event_id"], b["event_id"], c["event_id"]])
    assert store.events(types=("feedback",))[0].body["text"] == "great"
    assert store.events(since="2030-01-01T00:00:00.000000Z") == []
    assert len(store.events(task="card")) == 3 and store.events(task="formula") == []
    store.close()


def test_a_failing_batch_stores_nothing(db_url: str) -> None:
    store = open_store(db_url)
    good = _rows(card_result("s1"), card_result("s2"))
    broken = EventRow(*([None] * 10))  # NOT NULL violations, after two good rows in the same transaction
    with pytest.raises(StorageError):
        store.insert_batch([*good, broken])
    assert store.count_events() == 0
    assert store.insert_batch(good) == 2  # and the store still works
    store.close()


def test_images_are_stored_only_with_new_events(db_url: str) -> None:
    store = open_store(db_url)
    e = formula_submitted("s", consent=True, image={"media_type": "image/png", "data": image_b64()}, boxes=[])
    batch = parse_batch(json.dumps([e]).encode())
    assert store.insert_batch(batch.events, batch.images) == 1
    assert store.insert_batch(batch.events, batch.images) == 0
    media_type, data = store.image(e["event_id"])
    assert media_type == "image/png" and data == batch.images[0].data
    assert store.image("missing") is None
    store.close()


def test_api_keys_are_stored_hashed(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url)
    key = store.create_key("demo-android")
    assert key.startswith("pok_") and len(key) > 40
    assert store.check_key(key) == "demo-android"
    assert store.check_key(key + "x") is None and store.check_key("") is None
    with pytest.raises(StorageError):
        store.create_key("demo-android")
    with pytest.raises(StorageError):
        store.create_key("no spaces please")
    (listed,) = store.list_keys()
    assert listed.name == "demo-android" and key.startswith(listed.prefix) and len(listed.prefix) < 10
    with store._transaction() as cur:  # the raw key appears nowhere in the table
        cur.execute("SELECT * FROM api_keys")
        assert key not in repr(cur.fetchall())
    assert store.revoke_key("demo-android") and not store.revoke_key("demo-android")
    assert store.check_key(key) is None
    store.close()
    if isinstance(store, SQLiteStore):
        raw = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
        assert key.encode() not in raw


def test_sqlite_is_wal_with_full_sync(tmp_path: Path) -> None:
    store = open_store(tmp_path / "e.sqlite3")
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    # other processes (the reports) read it with plain sqlite3
    assert sqlite3.connect(tmp_path / "e.sqlite3").execute("SELECT COUNT(*) FROM events").fetchone() == (0,)


def test_urls(tmp_path: Path) -> None:
    for url in [f"sqlite:///{tmp_path}/a.db", f"sqlite:////{tmp_path}/a.db", str(tmp_path / "a.db")]:
        store = open_store(url)
        assert isinstance(store, SQLiteStore) and store.path == tmp_path / "a.db", url
        store.close()
    with pytest.raises(StorageError, match="no database"):
        open_store(tmp_path / "missing.db", create=False)
    with pytest.raises(StorageError, match="unsupported"):
        open_store("mysql://x@y/z")
    assert default_db_path().parts[-2:] == ("pocketocr", "events.sqlite3")
    assert redact_url("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_postgres_down_is_a_storage_error(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    from .helpers import free_port

    with pytest.raises(StorageError, match="cannot connect"):
        PostgresStore(f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none")


def test_concurrent_batches_are_committed_together_and_stay_atomic(db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = open_store(db_url)
    batches = [_rows(card_result(f"g{i}-a"), card_result(f"g{i}-b")) for i in range(40)]
    broken = [*_rows(card_result("bad-a")), EventRow(*([None] * 10))]
    shared = _rows(card_result("shared"))  # sent by every thread: stored once

    def send(i: int) -> int | str:
        try:
            return store.insert_batch(broken if i == 7 else [*batches[i], *shared])
        except StorageError:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(40)))
    assert results[7] == "refused"
    assert sum(r for r in results if r != "refused") == 39 * 2 + 1  # "shared" counted new exactly once
    ids = {e.event_id for e in store.events()}
    assert len(ids) == store.count_events() == 39 * 2 + 1
    assert not any(e.session_id == "bad-a" for e in store.events())
    store.close()
