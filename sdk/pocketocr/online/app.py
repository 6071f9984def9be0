"""The event collector: a FastAPI app over a `Store` (`pocketocr serve` runs it with uvicorn).

Endpoints:
- `POST /v1/events`: `Authorization: Bearer <api key>`, body a JSON array of events (`schema`). Answers
  200 `{"accepted": n, "duplicates": m}` after the commit; 401 missing or wrong key; 413 body over
  `MAX_BODY_BYTES` or more than `MAX_EVENTS` events; 400 not JSON; 422 invalid events (per-event
  errors); 415 compressed body; 503 database down. Every non-200 answer stores nothing.
- `GET /healthz`: 200 `{"status": "ok"}` when the database answers, else 503.
- `GET /v1/schema`: the JSON Schema of the body (`events.schema.json`).

Request bodies are never logged: the log has one line per batch with counts only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import __version__
from .ingest import BatchError, parse_batch
from .schema import MAX_BODY_BYTES, SCHEMA_PATH
from .storage import StorageError, Store

__all__ = ["DRAIN_LIMIT", "create_app"]

log = logging.getLogger("pocketocr.serve")

# A refused body is still read (and dropped) up to this size before answering: closing a socket with
# unread input makes the kernel send a reset, and the client may then never see the 401/413.
DRAIN_LIMIT = 16 * 1024 * 1024


def _error(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


async def _drain(request: Request, already: int = 0) -> None:
    """Read and drop the rest of the body, up to DRAIN_LIMIT; skip when the client waits for 100-continue."""
    if request.headers.get("expect", "").lower() == "100-continue" and already == 0:
        return
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > DRAIN_LIMIT:
        return
    total = already
    async for chunk in request.stream():
        total += len(chunk)
        if total > DRAIN_LIMIT:
            return


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (the rest is then drained, see DRAIN_LIMIT)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total <= limit:
            chunks.append(chunk)
        elif total > DRAIN_LIMIT:
            break
    return b"".join(chunks) if total <= limit else None


def create_app(store: Store, cors_origins: Sequence[str] = (),
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The collector app, writing to `store`.

    Args:
        store: where events go (`storage.open_store`).
        cors_origins: browser origins allowed to post events (the demo's), e.g. "http://localhost:5173".
        max_body_bytes: the body-size limit.

    Returns:
        A FastAPI app; run it with uvicorn.

    >>> store = open_store("sqlite:////tmp/events.sqlite3")  # doctest: +SKIP
    >>> app = create_app(store, ["http://localhost:5173"])  # doctest: +SKIP
    """
    app = FastAPI(title="pocketocr event collector", version=__version__, docs_url=None, redoc_url=None)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    schema = json.loads(SCHEMA_PATH.read_text())

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        try:
            await run_in_threadpool(store.ping)
        except StorageError:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/v1/schema")
    async def event_schema() -> JSONResponse:
        return JSONResponse(schema)

    @app.post("/v1/events")
    async def ingest(request: Request) -> JSONResponse:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            await _drain(request)
            return _error(401, "missing API key: send Authorization: Bearer <key>",
                          headers={"WWW-Authenticate": "Bearer"})
        try:
            key_name = await run_in_threadpool(store.check_key, key)
        except StorageError as exc:
            log.error("key check failed: %s", exc)
            await _drain(request)
            return _error(503, "storage unavailable; nothing was stored, retry later")
        if key_name is None:
            await _drain(request)
            return _error(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        if request.headers.get("content-encoding", "identity").lower() != "identity":
            await _drain(request)
            return _error(415, "compressed bodies are not accepted; send plain JSON")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            await _drain(request)
            return _error(413, f"body larger than {max_body_bytes} bytes; send smaller batches")
        body = await _read_body(request, max_body_bytes)
        if body is None:
            return _error(413, f"body larger than {max_body_bytes} bytes; send smaller batches")
        try:
            batch = await run_in_threadpool(parse_batch, body)
        except BatchError as exc:
            log.info("refused batch from key %s: %d %s", key_name, exc.status, exc.payload["detail"])
            return JSONResponse(exc.payload, status_code=exc.status)
        try:
            accepted = await run_in_threadpool(store.insert_batch, batch.events, batch.images, key_name)
        except StorageError as exc:
            log.error("storing a batch of %d events failed: %s", len(batch.events), exc)
            return _error(503, "storage unavailable; nothing was stored, retry later")
        duplicates = len(batch.events) - accepted
        if batch.pans_masked:
            log.warning("masked %d card numbers in a batch from key %s", batch.pans_masked, key_name)
        log.info("stored batch from key %s: %d accepted, %d duplicates", key_name, accepted, duplicates)
        return JSONResponse({"accepted": accepted, "duplicates": duplicates})

    return app
