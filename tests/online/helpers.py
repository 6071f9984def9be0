"""Shared helpers for the online tests: event factories, a real collector process, HTTP calls."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

DEVICE = {"platform": "android", "model": "Pixel 8", "os": "Android 14"}
# A Luhn-valid test Visa number; it must never reach the database, a log or a report in full.
PAN = "4111111111111111"
PAN_FORMS = (PAN, "4111 1111 1111 1111", "4111-1111-1111-1111")


def event(type_: str, session: str, task: str = "card", *, model: str = "card-1.0", app: str = "1.0.0",
          platform: str = "android", ts: str = "2025-03-01T10:00:00Z", event_id: str | None = None,
          **fields: Any) -> dict[str, Any]:
    """One event with the common fields filled in."""
    return {"event_id": event_id or str(uuid.uuid4()), "type": type_, "ts": ts, "session_id": session,
            "task": task, "app_version": app, "model_version": model, "device": {**DEVICE, "platform": platform},
            **fields}


def card_result(session: str, model_ms: float = 40.0, e2e_ms: float = 300.0, **kw: Any) -> dict[str, Any]:
    return event("scan_result", session, "card",
                 fields={"number": {"masked": "411111******1111", "confidence": 0.98},
                         "expiry": {"value": "09/27", "confidence": 0.9}},
                 latency_ms={"model": model_ms, "end_to_end": e2e_ms}, **kw)


def card_submitted(session: str, number: int = 0, expiry: int | None = 0, **kw: Any) -> dict[str, Any]:
    """number/expiry: edit distance (0 = not edited); expiry None = the form has no expiry field."""
    fields: dict[str, Any] = {"number": {"edited": number > 0, "edit_distance": number}}
    if expiry is not None:
        fields["expiry"] = {"edited": expiry > 0, "edit_distance": expiry}
    return event("scan_submitted", session, "card", fields=fields, **kw)


def formula_result(session: str, count: int = 3, model_ms: float = 80.0, e2e_ms: float = 500.0,
                   **kw: Any) -> dict[str, Any]:
    kw.setdefault("model", "formula-1.0")
    return event("scan_result", session, "formula", fields={"boxes": {"count": count}},
                 latency_ms={"model": model_ms, "end_to_end": e2e_ms}, **kw)


def formula_submitted(session: str, added: int = 0, removed: int = 0, adjusted: int = 0,
                      **kw: Any) -> dict[str, Any]:
    kw.setdefault("model", "formula-1.0")
    return event("scan_submitted", session, "formula",
                 fields={"boxes": {"added": added, "removed": removed, "adjusted": adjusted}}, **kw)


def abandoned(session: str, reason: str = "user_cancelled", task: str = "card", **kw: Any) -> dict[str, Any]:
    return event("scan_abandoned", session, task, reason=reason, **kw)


def feedback(session: str, text: str, category: str | None = None, rating: int | None = None,
             **kw: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"text": text}
    if category is not None:
        extra["category"] = category
    if rating is not None:
        extra["rating"] = rating
    return event("feedback", session, kw.pop("task", "card"), **extra, **kw)


def image_b64(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> str:
    """A small synthetic page image, base64."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (250, 250, 245)).save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


# --- processes and HTTP -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `pocketocr ARGS` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "pocketocr.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False)


def create_key(db: str, name: str = "test") -> str:
    """`pocketocr serve keys create NAME --db DB`; the key is alone on the last stdout line."""
    out = cli("serve", "keys", "create", name, "--db", db)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


class Collector:
    """A real `pocketocr serve` process on a free loopback port; its log goes to `log_path`."""

    def __init__(self, db: str, log_path: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.db, self.log_path, self.extra_args = db, log_path, extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Collector:
        self.port = free_port()
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pocketocr.cli.main", "serve", "--db", self.db, "--host", "127.0.0.1",
             "--port", str(self.port), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                status, _ = request("GET", self.url + "/healthz", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"collector did not come up: {self.log_path.read_text()}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, Any]:
    """(status, decoded JSON body or raw text) of one HTTP request; HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        status, raw, hdrs = err.code, err.read(), err.headers
    if "json" in (hdrs.get("content-type") or ""):
        return status, json.loads(raw)
    return status, raw.decode(errors="replace")


def post_events(base_url: str, events: Any, key: str | None, timeout: float = 30,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    h = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        h["Authorization"] = f"Bearer {key}"
    return request("POST", base_url + "/v1/events", body, h, timeout=timeout)


# --- a known event mix, for exact report checks ---------------------------------------------------------

def known_mix() -> list[dict[str, Any]]:
    """23 sessions over two days, three model versions, two tasks, plus 4 feedback events.

    card-1.0 (app 1.0.0, android): 10 submitted (s0 number edited, s1 number, s2 expiry; s9 has no expiry
    field), 2 abandoned, 1 open. card-2.0 (app 1.1.0, ios): 5 submitted, 4 with the number edited, 1
    abandoned. formula-1.0 (app 1.1.0, android): 4 submitted, 1 with a box adjusted.
    So: 19 submitted, 8 edited, 3 abandoned, 1 open.
    """
    out: list[dict[str, Any]] = []
    day1, day2 = "2025-03-01T09:{:02d}:00Z", "2025-03-02T09:{:02d}:00+01:00"  # day2 is 08:xx UTC

    def card(sid: str, ts: str, model: str, app: str, platform: str,
             lat: tuple[float, float]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(common keyword arguments of the session, its scan_result)."""
        kw = {"model": model, "app": app, "platform": platform, "ts": ts}
        return kw, card_result(sid, lat[0], lat[1], **kw)

    edits = {0: (2, 0), 1: (1, 0), 2: (0, 1)}
    for i in range(10):
        ts = (day1 if i < 5 else day2).format(i)
        kw, result = card(f"c1-{i}", ts, "card-1.0", "1.0.0", "android", (30.0 + i, 200.0 + 10 * i))
        number, expiry = edits.get(i, (0, 0))
        out += [result, card_submitted(f"c1-{i}", number, None if i == 9 else expiry, **kw)]
    for i, reason in enumerate(["user_cancelled", "camera_error"]):
        ts = day1.format(20 + i)
        kw, result = card(f"c1-ab{i}", ts, "card-1.0", "1.0.0", "android", (50.0, 400.0))
        out += [result, abandoned(f"c1-ab{i}", reason, **kw)]
    out.append(card("c1-open", day2.format(30), "card-1.0", "1.0.0", "android", (45.0, 350.0))[1])
    for i in range(5):
        ts = day2.format(40 + i)
        kw, result = card(f"c2-{i}", ts, "card-2.0", "1.1.0", "ios", (20.0 + i, 150.0 + i))
        out += [result, card_submitted(f"c2-{i}", number=3 if i < 4 else 0, expiry=0, **kw)]
    kw, result = card("c2-ab", day2.format(50), "card-2.0", "1.1.0", "ios", (25.0, 160.0))
    out += [result, abandoned("c2-ab", "manual_entry", **kw)]
    for i in range(4):
        ts = day2.format(55 + i)
        kw = {"model": "formula-1.0", "app": "1.1.0", "ts": ts}
        out += [formula_result(f"f-{i}", 5, 100.0 + i, 900.0 + i, **kw),
                formula_submitted(f"f-{i}", adjusted=1 if i == 0 else 0, **kw)]
    out += [
        feedback("c1-0", f"It read my card {PAN_FORMS[1]} wrong", "wrong_number", 2, ts=day1.format(1)),
        feedback("c1-1", "<script>alert('x')</script> wrong digits", "wrong_number", 1, ts=day1.format(2)),
        feedback("c2-0", "too slow", "slow", 3, model="card-2.0", ts=day2.format(41)),
        feedback("c2-1", "love it", ts=day2.format(42)),
    ]
    return out
