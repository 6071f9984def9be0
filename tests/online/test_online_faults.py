"""Fault and load tests of a real collector: kill -9 while ingesting loses no acknowledged event, and
loopback load holds at least 500 events/s with every acknowledged event stored exactly once."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pocketocr.online.storage import open_store

from .helpers import Collector, card_result, card_submitted, create_key, post_events

pytestmark = pytest.mark.slow


def _stored_ids(db: str) -> list[str]:
    store = open_store(db, create=False)
    try:
        with store._transaction() as cur:
            cur.execute("SELECT event_id FROM events")
            return [r[0] for r in cur.fetchall()]
    finally:
        store.close()


def _batch(n: int, tag: str) -> list[dict]:
    out = []
    for i in range(n // 2):
        session = f"{tag}-{i}-{uuid.uuid4().hex[:8]}"
        out += [card_result(session), card_submitted(session, number=i % 3)]
    return out


@pytest.mark.timeout(180)
def test_kill_9_loses_no_acknowledged_event(db_url: str, tmp_path: Path) -> None:
    key = create_key(db_url)
    c = Collector(db_url, tmp_path / "serve.log").start()
    acked: list[str] = []
    sent: list[list[dict]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(tag: str) -> None:
        i = 0
        while not stop.is_set():
            batch = _batch(50, f"{tag}{i}")
            with lock:
                sent.append(batch)
            try:
                status, body = post_events(c.url, batch, key, timeout=10)
            except OSError:  # the server died under us: this batch is not acknowledged
                return
            if status != 200:
                return
            assert body == {"accepted": len(batch), "duplicates": 0}
            with lock:
                acked.extend(e["event_id"] for e in batch)
            i += 1

    threads = [threading.Thread(target=client, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 1000 and time.monotonic() < deadline:
        time.sleep(0.02)
    c.kill9()  # while both clients are sending
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= 1000, "the collector acknowledged too little before the kill"

    c.start()  # same database, new process
    try:
        stored = _stored_ids(db_url)
        assert len(stored) == len(set(stored))
        missing = set(acked) - set(stored)
        assert not missing, f"{len(missing)} acknowledged events lost"
        # clients retry everything they sent, acknowledged or not: nothing is stored twice
        total = {e["event_id"] for batch in sent for e in batch}
        accepted = duplicates = 0
        for batch in sent:
            status, body = post_events(c.url, batch, key)
            assert status == 200
            accepted += body["accepted"]
            duplicates += body["duplicates"]
        assert accepted + duplicates == sum(len(b) for b in sent)
        final = _stored_ids(db_url)
        assert len(final) == len(set(final)) == len(total)
        assert set(final) == total
    finally:
        c.stop()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("batch_size,clients", [(500, 4), (50, 1)], ids=["500x4clients", "50x1client"])
def test_loopback_load_holds_500_events_per_second(db_url: str, tmp_path: Path, batch_size: int,
                                                   clients: int) -> None:
    key = create_key(db_url)
    c = Collector(db_url, tmp_path / "serve.log", ("--log-level", "warning")).start()
    try:
        batches = [_batch(batch_size, f"load{i}") for i in range(10_000 // batch_size)]  # 10,000 events
        bodies = [json.dumps(b).encode() for b in batches]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(lambda body: post_events(c.url, body, key, timeout=60), bodies))
        elapsed = time.perf_counter() - t0
        assert all(status == 200 for status, _ in results), results
        assert sum(body["accepted"] for _, body in results) == 10_000
        rate = 10_000 / elapsed
        print(f"\nloopback load ({db_url.split(':')[0]}, batches of {batch_size}, {clients} clients): "
              f"10,000 events in {elapsed:.2f} s = {rate:.0f} events/s")
        assert rate >= 500, f"{rate:.0f} events/s"
        stored = _stored_ids(db_url)
        assert len(stored) == len(set(stored)) == 10_000
        assert set(stored) == {e["event_id"] for b in batches for e in b}
    finally:
        c.stop()
