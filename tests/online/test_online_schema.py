"""pocketocr.online.schema and .ingest: the published JSON Schema, strict validation, per-event errors."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

import pytest
from pocketocr.online.ingest import BatchError, parse_batch
from pocketocr.online.schema import MAX_BODY_BYTES, MAX_EVENTS, SCHEMA_PATH, batch_json_schema

from .helpers import (
    PAN,
    abandoned,
    card_result,
    card_submitted,
    feedback,
    formula_result,
    formula_submitted,
    image_b64,
)


def _body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


def _refused(events: Any, status: int = 422) -> dict[str, Any]:
    body = events if isinstance(events, bytes) else _body(events)
    with pytest.raises(BatchError) as info:
        parse_batch(body)
    assert info.value.status == status, info.value.payload
    return info.value.payload


def test_shipped_schema_file_is_generated_from_the_models() -> None:
    shipped = json.loads(SCHEMA_PATH.read_text())
    assert shipped == batch_json_schema(), "regenerate: python -m pocketocr.online.schema > " + str(SCHEMA_PATH)
    assert shipped["maxItems"] == MAX_EVENTS
    names = {ref["$ref"].rsplit("/", 1)[-1] for ref in shipped["items"]["oneOf"]}
    assert names == {"CardScanResult", "FormulaScanResult", "CardScanSubmitted", "FormulaScanSubmitted",
                     "ScanAbandoned", "Feedback"}


def test_every_event_kind_validates_and_is_stored_canonically() -> None:
    img = image_b64()
    events = [
        card_result("s1", ts="2025-03-01T12:30:00.250+02:00"),
        card_submitted("s1", number=2, expiry=None),
        formula_result("s2"),
        formula_submitted("s2", added=1, consent=True, image={"media_type": "image/png", "data": img},
                          boxes=[[1, 2, 30, 20, "embedded"], [0, 25, 60, 40, "isolated"]]),
        abandoned("s3", "camera_error", task="formula"),
        feedback("s4", "slow on my phone", category="slow", rating=2),
    ]
    batch = parse_batch(_body(events))
    assert [e.type for e in batch.events] == [e["type"] for e in events]
    first = batch.events[0]
    assert first.ts == "2025-03-01T10:30:00.250000Z"  # normalised to UTC
    assert json.loads(first.body)["fields"]["number"]["masked"] == "411111******1111"
    # the image is stored apart, its metadata in the body
    (image,) = batch.images
    assert image.event_id == events[3]["event_id"] and image.data == base64.b64decode(img)
    meta = json.loads(batch.events[3].body)["image"]
    assert meta["width"] == 64 and meta["height"] == 48 and "data" not in meta


def test_an_empty_batch_is_fine() -> None:
    assert parse_batch(b"[]").events == []


def _mutations() -> list[tuple[str, dict[str, Any], list[Any]]]:
    """(name, invalid event, expected error loc)."""
    base = card_result("s")
    out = []

    def mutate(name: str, loc: list[Any], fn: Any, event: dict[str, Any] | None = None) -> None:
        e = copy.deepcopy(event or base)
        fn(e)
        out.append((name, e, loc))

    mutate("naive timestamp", ["ts"], lambda e: e.update(ts="2025-03-01T10:00:00"))
    mutate("date only", ["ts"], lambda e: e.update(ts="2025-03-01"))
    mutate("impossible date", ["ts"], lambda e: e.update(ts="2025-02-30T10:00:00Z"))
    mutate("not a timestamp", ["ts"], lambda e: e.update(ts="yesterday"))
    mutate("epoch number", ["ts"], lambda e: e.update(ts=1740823200))
    mutate("missing session_id", ["session_id"], lambda e: e.pop("session_id"))
    mutate("missing device", ["device"], lambda e: e.pop("device"))
    mutate("missing latency", ["latency_ms"], lambda e: e.pop("latency_ms"))
    mutate("string for number", ["fields", "number", "confidence"],
           lambda e: e["fields"]["number"].update(confidence="0.9"))
    mutate("confidence above 1", ["fields", "number", "confidence"],
           lambda e: e["fields"]["number"].update(confidence=1.5))
    mutate("negative latency", ["latency_ms", "model"], lambda e: e["latency_ms"].update(model=-1))
    mutate("unmasked number", ["fields", "number", "masked"],
           lambda e: e["fields"]["number"].update(masked="4111111111111113"))  # not Luhn, so not re-masked
    mutate("bad expiry", ["fields", "expiry", "value"], lambda e: e["fields"]["expiry"].update(value="13/27"))
    mutate("unknown key", ["extra"], lambda e: e.update(extra=1))
    mutate("unknown type", [], lambda e: e.update(type="scan_started"))
    mutate("unknown task", [], lambda e: e.update(task="passport"))
    mutate("huge model_version", ["model_version"], lambda e: e.update(model_version="v" * 5000))
    mutate("bool for count", ["fields", "boxes", "count"],
           lambda e: e["fields"]["boxes"].update(count=True), formula_result("s"))
    mutate("float for int", ["fields", "number", "edit_distance"],
           lambda e: e["fields"]["number"].update(edit_distance=1.0), card_submitted("s", number=1))
    mutate("edited false with distance", ["fields", "number"],
           lambda e: e["fields"]["number"].update(edited=False), card_submitted("s", number=1))
    mutate("huge feedback text", ["text"], lambda e: e.update(text="x" * 2001), feedback("s", "ok"))
    mutate("rating 6", ["rating"], lambda e: e.update(rating=6), feedback("s", "ok"))
    mutate("free-text category", ["category"], lambda e: e.update(category="Not A Token!"), feedback("s", "ok"))
    mutate("image on a card", ["image"],
           lambda e: e.update(consent=True, image={"media_type": "image/png", "data": image_b64()}),
           card_submitted("s"))
    mutate("image without consent", [],
           lambda e: e.update(image={"media_type": "image/png", "data": image_b64()}, boxes=[]),
           formula_submitted("s"))
    mutate("image without boxes", [],
           lambda e: e.update(consent=True, image={"media_type": "image/png", "data": image_b64()}),
           formula_submitted("s"))
    mutate("image not base64", ["image"],
           lambda e: e.update(consent=True, image={"media_type": "image/png", "data": "%%%"}, boxes=[]),
           formula_submitted("s"))
    mutate("jpeg declared as png", ["image"],
           lambda e: e.update(consent=True, image={"media_type": "image/png", "data": image_b64("JPEG")}, boxes=[]),
           formula_submitted("s"))
    mutate("box outside the image", [],
           lambda e: e.update(consent=True, image={"media_type": "image/png", "data": image_b64()},
                              boxes=[[0, 0, 65, 10, "embedded"]]),
           formula_submitted("s"))
    mutate("inverted box", ["boxes", 0],
           lambda e: e.update(consent=True, boxes=[[10, 0, 5, 10, "embedded"]]), formula_submitted("s"))
    mutate("unknown box kind", ["boxes", 0, 4],
           lambda e: e.update(consent=True, boxes=[[0, 0, 5, 10, "table"]]), formula_submitted("s"))
    return out


@pytest.mark.parametrize("name,event,loc", _mutations(), ids=[m[0] for m in _mutations()])
def test_invalid_events_are_refused_with_their_location(name: str, event: dict[str, Any], loc: list[Any]) -> None:
    good = card_result("other")
    payload = _refused([good, event])  # one bad event refuses the whole batch
    assert payload["n_invalid"] == 1
    (err,) = payload["errors"]
    assert err["index"] == 1
    assert any(e["loc"][:len(loc)] == loc for e in err["errors"]), err


def test_not_json_and_not_arrays() -> None:
    for raw in [b"[", b"{\"a\":", b"\xff\xfe[]", b"[NaN]", b"[1e999]", b"[" * 100_000 + b"]" * 100_000,
                b"[" + b"1" * 5000 + b"]"]:
        _refused(raw, 400)
    _refused(b'{"events": []}', 422)
    _refused(b"[1, \"a\", null]", 422)


def test_size_limits() -> None:
    _refused([card_result("s")] * (MAX_EVENTS + 1), 413)
    _refused(b"[" + b" " * MAX_BODY_BYTES + b"]", 413)


def test_a_full_pan_is_masked_before_validation_and_counted() -> None:
    e = card_result("s")
    e["fields"]["number"]["masked"] = PAN  # a client bug: the full number instead of the mask
    f = feedback("s", f"charged twice on {PAN[:4]} {PAN[4:8]} {PAN[8:12]} {PAN[12:]}")
    batch = parse_batch(_body([e, f]))
    assert [r.pans_masked for r in batch.events] == [1, 1]
    for row in batch.events:
        assert PAN not in row.body.replace(" ", "")
    assert json.loads(batch.events[0].body)["fields"]["number"]["masked"] == "411111******1111"


def test_error_answers_never_echo_a_pan() -> None:
    bad = feedback("s", f"card {PAN}", rating=9)
    bad["4111111111111111"] = "x"
    bad["model_version"] = f"x {PAN}"
    text = json.dumps(_refused([bad]))
    assert PAN not in text and "1111 1111" not in text


def test_ids_are_stored_as_sent_and_refused_when_they_could_hold_a_pan() -> None:
    events = [card_result(str(uuid.uuid4())) for _ in range(3000)]  # UUID groups are often all digits
    for i in range(0, len(events), MAX_EVENTS):
        chunk = events[i:i + MAX_EVENTS]
        rows = parse_batch(_body(chunk)).events
        assert [(r.event_id, r.session_id) for r in rows] == [(e["event_id"], e["session_id"]) for e in chunk]
    for bad in [PAN, "4111-1111-1111-1111", "order-4111111111111111", "1234567890123"]:
        for key in ("event_id", "session_id"):
            e = card_result("s")
            e[key] = bad
            payload = _refused([e])
            assert payload["errors"][0]["errors"][0]["loc"] == [key]
            assert PAN not in json.dumps(payload)
