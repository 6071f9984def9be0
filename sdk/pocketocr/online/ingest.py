"""Request body bytes -> rows to store, or the 4xx answer; no web framework involved.

Order matters for privacy: card numbers are masked (`pan.scrub_json`) before validation, so neither
the stored rows nor the 422 error messages can hold a full number, and error messages never echo
input values. Two kinds of strings are not masked but checked: `event_id` and `session_id` (refused
by the schema when they could hold a card number) and the base64 of a consented image.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .pan import scrub_json, scrub_text
from .schema import EVENT_ADAPTER, MAX_BODY_BYTES, MAX_EVENTS, FormulaScanSubmitted
from .storage import EventRow, ImageRow

__all__ = ["MAX_ERRORS_SHOWN", "Batch", "BatchError", "parse_batch"]

MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True)
class Batch:
    events: list[EventRow]
    images: list[ImageRow] = field(default_factory=list)

    @property
    def pans_masked(self) -> int:
        return sum(e.pans_masked for e in self.events)


class BatchError(Exception):
    """The request cannot be stored; `status` and `payload` are the HTTP answer."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.payload = {"detail": detail, **extra}


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_float=_finite, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise BatchError(400, "body is not UTF-8") from None
    except json.JSONDecodeError as exc:  # its message gives line and column, never the content
        raise BatchError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # NaN/Infinity, 1e999, 5000-digit integers, deep nesting
        raise BatchError(400, f"malformed JSON: {type(exc).__name__}") from None


# Identifiers must round-trip unchanged (retries and duplicates are matched on them), and masking would
# change about 3 in 1000 UUIDs, whose hex groups are often all decimal ("07414629-1704-4573-8744-...").
# The schema refuses ids that could hold a card number instead (see schema.Id).
_KEEP_AS_IS = ("event_id", "session_id")


def _scrub_event(item: Any) -> tuple[Any, int]:
    if not isinstance(item, dict):
        return scrub_json(item)
    kept = {k: item[k] for k in _KEEP_AS_IS if isinstance(item.get(k), str)}
    # Image bytes are binary, not text: keep the base64 out of the digit scrubber (a '*' would break it).
    image = item.get("image")
    image_data = image["data"] if isinstance(image, dict) and isinstance(image.get("data"), str) else None
    rest = {k: v for k, v in item.items() if k not in kept}
    if image_data is not None:
        rest["image"] = {k: v for k, v in image.items() if k != "data"}
    rest, n = scrub_json(rest)
    if image_data is not None:
        rest["image"]["data"] = image_data
    return {**kept, **rest}, n


def _errors(exc: ValidationError, tag: str | None) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = list(err["loc"])
        if loc and tag is not None and loc[0] == tag:  # the union tag is not a JSON path
            loc = loc[1:]
        out.append({"loc": loc, "msg": err["msg"], "type": err["type"]})
    return out


def _row(event: Any, pans: int) -> tuple[EventRow, ImageRow | None]:
    body = event.model_dump(mode="json")
    image_row = None
    if isinstance(event, FormulaScanSubmitted) and event.image is not None:
        raw = event.image.decoded()
        width, height = event.image.dimensions()
        body["image"] = {"media_type": event.image.media_type, "width": width, "height": height,
                         "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
        image_row = ImageRow(event.event_id, event.image.media_type, raw)
    row = EventRow(event.event_id, event.type, event.ts, event.session_id, event.task, event.app_version,
                   event.model_version, event.device.platform, pans,
                   json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return row, image_row


def parse_batch(body: bytes) -> Batch:
    """Decode, scrub and validate one request body.

    Args:
        body: the raw request body, a JSON array of events.

    Returns:
        The rows to store, in order.

    Raises:
        BatchError: 413 (too large, too many events), 400 (not UTF-8 JSON) or 422 (not an array, or any
            invalid event: then `payload["errors"]` lists `{index, event_id, errors: [{loc, msg, type}]}`).

    >>> parse_batch(b"[]").events
    []
    """
    if len(body) > MAX_BODY_BYTES:
        raise BatchError(413, f"body larger than {MAX_BODY_BYTES} bytes; send smaller batches")
    items = _decode(body)
    if not isinstance(items, list):
        raise BatchError(422, "the body must be a JSON array of events")
    if len(items) > MAX_EVENTS:
        raise BatchError(413, f"more than {MAX_EVENTS} events in one request; send smaller batches")
    validated: list[tuple[Any, int]] = []
    invalid: list[dict[str, Any]] = []
    for index, raw in enumerate(items):
        item, pans = _scrub_event(raw)
        tag = None
        event_id = None
        if isinstance(item, dict):
            event_id = item.get("event_id") if isinstance(item.get("event_id"), str) else None
            kind = item.get("type")
            tag = f"{kind}.{item.get('task')}" if kind in ("scan_result", "scan_submitted") else kind
        try:
            # validate_json: strict JSON semantics (arrays for tuples, no Python-only coercions)
            event = EVENT_ADAPTER.validate_json(json.dumps(item))
        except ValidationError as exc:
            # the id was not masked for storage, but an error answer may be logged by the client: mask it
            shown = scrub_text(event_id)[0][:128] if event_id else None
            invalid.append({"index": index, "event_id": shown,
                            "errors": _errors(exc, tag if isinstance(tag, str) else None)})
            continue
        validated.append((event, pans))
    if invalid:
        raise BatchError(422, "invalid events; nothing was stored", n_invalid=len(invalid),
                         errors=invalid[:MAX_ERRORS_SHOWN])
    events, images = [], []
    for event, pans in validated:
        row, image = _row(event, pans)
        events.append(row)
        if image is not None:
            images.append(image)
    return Batch(events, images)

