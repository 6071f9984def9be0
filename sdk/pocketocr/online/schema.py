"""Event schema v1: the pydantic models the collector validates with, and the JSON Schema made from them.

The models are the one source: `events.schema.json` (shipped in the package, for third-party apps) is
`batch_json_schema()` written out, and a test keeps the two equal. Regenerate it after any change:

    python -m pocketocr.online.schema > sdk/pocketocr/online/events.schema.json

Validation is strict (JSON types as written: no "5" for 5, no 1 for true) and closed (unknown keys are
errors), so that nothing unexpected, private data included, reaches the database.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    model_validator,
)

from .timestamps import TS_PATTERN, format_ts, parse_ts

__all__ = [
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "MAX_IMAGE_BYTES",
    "SCHEMA_PATH",
    "TASKS",
    "CardScanResult",
    "CardScanSubmitted",
    "Device",
    "Event",
    "Feedback",
    "FormulaScanResult",
    "FormulaScanSubmitted",
    "Image",
    "Latency",
    "ScanAbandoned",
    "batch_json_schema",
]

SCHEMA_PATH = Path(__file__).resolve().parent / "events.schema.json"
MAX_EVENTS = 500
MAX_BODY_BYTES = 1_048_576       # 1 MiB, the whole request body
MAX_IMAGE_BYTES = 700_000        # decoded image; its base64 form (4/3 larger) still fits in one body
MAX_IMAGE_PIXELS = 40_000_000
EVENT_TYPES = ("scan_result", "scan_submitted", "scan_abandoned", "feedback")
TASKS = ("card", "formula")

# --- field types ------------------------------------------------------------------------------------

_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
_LONG_DIGITS_RE = re.compile(r"\d{13,}")


def _no_card_number(value: str) -> str:
    # Ids are stored as sent (never masked), so they must not be able to carry a card number.
    digits = sum(ch.isdigit() for ch in value)
    separated = 13 <= digits <= 19 and all(ch.isdigit() or ch in "-._:" for ch in value)
    if _LONG_DIGITS_RE.search(value) or separated:
        raise ValueError("ids must not look like card numbers (13 or more digits in a row, or 13-19 digits "
                         "and separators only); use a UUID")
    return value


Id = Annotated[str, StringConstraints(pattern=_ID_RE), AfterValidator(_no_card_number)]
_ID_RULE = ("Use a UUID. Stored exactly as sent, never masked, so refused when it could hold a card number: "
            "13 or more digits in a row, or 13-19 digits and separators only.")
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9*][A-Za-z0-9._+*\-]{0,63}$")]
Token = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]
Millis = Annotated[float, Field(ge=0.0, le=600_000.0)]
Count = Annotated[int, Field(ge=0, le=100_000)]
# At most the first 6 and the last 4 digits in clear (PCI DSS); a full number never passes.
MaskedNumber = Annotated[str, StringConstraints(max_length=19, pattern=r"^[0-9]{0,6}\*{0,19}[0-9]{0,4}$")]
Expiry = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])/[0-9]{2}$")]
Coord = Annotated[float, Field(ge=0.0, le=100_000.0)]

def _normalise_ts(text: str) -> str:
    return format_ts(parse_ts(text))


Timestamp = Annotated[
    str,
    AfterValidator(_normalise_ts),
    Field(description="RFC 3339 / ISO 8601 with a zone (Z or ±HH:MM); stored in UTC.",
          json_schema_extra={"format": "date-time", "pattern": TS_PATTERN}),
]


def _check_box(box: tuple[float, float, float, float, str]) -> tuple[float, float, float, float, str]:
    x1, y1, x2, y2, _ = box
    if not (x1 < x2 and y1 < y2):
        raise ValueError("a box is [x1, y1, x2, y2, kind] with x1 < x2 and y1 < y2")
    return box


BoxKind = Literal["embedded", "isolated", "unknown"]
Box = Annotated[tuple[Coord, Coord, Coord, Coord, BoxKind], AfterValidator(_check_box)]

# --- models -----------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Device(_Model):
    """The phone or computer the event comes from."""

    platform: Token = Field(description='Lower-case token: "android", "ios", "web", "linux", ...')
    model: Label = Field(description='Device model, e.g. "Pixel 8".')
    os: Label = Field(description='Operating system and version, e.g. "Android 14".')


class Latency(_Model):
    """Milliseconds: `model` is inference alone; `end_to_end` runs from capture to the result on screen."""

    model: Millis
    end_to_end: Millis


class _Common(_Model):
    event_id: Id = Field(description="Unique per event; a retry resends the same id. " + _ID_RULE)
    ts: Timestamp
    session_id: Id = Field(description="One scan session, from opening the scanner to submit or abandon. "
                           + _ID_RULE)
    app_version: Version
    model_version: Version
    device: Device


class CardNumberRead(_Model):
    masked: MaskedNumber | None = Field(
        description='Masked form only, e.g. "411111******1111"; null if none read.')
    confidence: Confidence


class CardExpiryRead(_Model):
    value: Expiry | None = Field(description='"MM/YY"; null if none read.')
    confidence: Confidence


class CardReadFields(_Model):
    number: CardNumberRead
    expiry: CardExpiryRead | None = None


class FormulaBoxCount(_Model):
    count: Count


class FormulaReadFields(_Model):
    boxes: FormulaBoxCount


class FieldEdit(_Model):
    """What the user changed in one field before submitting."""

    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"edit_distance": {"exclusiveMinimum": 0}}, "required": ["edit_distance"]},
        "then": {"properties": {"edited": {"const": True}}},
    })

    edited: bool = Field(description="Any change counts, even one undone later.")
    edit_distance: Annotated[int, Field(ge=0, le=64)] = Field(
        description="Levenshtein distance from the model's value to the submitted one.")

    @model_validator(mode="after")
    def _consistent(self) -> FieldEdit:
        if self.edit_distance > 0 and not self.edited:
            raise ValueError("edit_distance > 0 needs edited: true")
        return self


class CardEdits(_Model):
    number: FieldEdit
    expiry: FieldEdit | None = Field(default=None, description="Absent when the form has no expiry field.")


class BoxEdits(_Model):
    added: Count
    removed: Count
    adjusted: Count


class FormulaEdits(_Model):
    boxes: BoxEdits


class Image(_Model):
    """A page image, shared only with the user's consent, for the formula task only."""

    media_type: Literal["image/jpeg", "image/png"]
    data: Annotated[str, StringConstraints(max_length=(MAX_IMAGE_BYTES + 2) // 3 * 4)] = Field(
        description=f"Base64 (RFC 4648, with padding) of the file; at most {MAX_IMAGE_BYTES} bytes decoded.")

    def decoded(self) -> bytes:
        """The image file's bytes."""
        return base64.b64decode(self.data, validate=True)

    def dimensions(self) -> tuple[int, int]:
        """(width, height) in pixels, read from the file header."""
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(self.decoded())) as im:
            return im.size

    @model_validator(mode="after")
    def _readable(self) -> Image:
        try:
            raw = self.decoded()
        except (binascii.Error, ValueError):
            raise ValueError("data is not valid base64") from None
        if len(raw) > MAX_IMAGE_BYTES:
            raise ValueError(f"image larger than {MAX_IMAGE_BYTES} bytes")
        magic = b"\xff\xd8\xff" if self.media_type == "image/jpeg" else b"\x89PNG\r\n\x1a\n"
        if not raw.startswith(magic):
            raise ValueError(f"data is not a {self.media_type} file")
        from PIL import Image as PILImage

        try:
            w, h = self.dimensions()
        except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError):
            raise ValueError("image header unreadable") from None
        if w * h > MAX_IMAGE_PIXELS:
            raise ValueError(f"image larger than {MAX_IMAGE_PIXELS} pixels")
        return self


class CardScanResult(_Common):
    """The model's reading, as shown to the user."""

    type: Literal["scan_result"]
    task: Literal["card"]
    fields: CardReadFields
    latency_ms: Latency


class FormulaScanResult(_Common):
    """The model's reading, as shown to the user."""

    type: Literal["scan_result"]
    task: Literal["formula"]
    fields: FormulaReadFields
    latency_ms: Latency


class CardScanSubmitted(_Common):
    """The user submitted the form; what they changed first. Cards never carry images."""

    type: Literal["scan_submitted"]
    task: Literal["card"]
    fields: CardEdits


class FormulaScanSubmitted(_Common):
    """The user submitted the boxes; with consent, the page image and the corrected boxes too."""

    model_config = ConfigDict(json_schema_extra={"dependentSchemas": {
        "image": {"required": ["consent", "boxes"], "properties": {"consent": {"const": True}}},
        "boxes": {"required": ["consent"], "properties": {"consent": {"const": True}}},
    }})

    type: Literal["scan_submitted"]
    task: Literal["formula"]
    fields: FormulaEdits
    consent: bool = Field(default=False, description="The user agreed to share the image and boxes.")
    image: Image | None = Field(default=None, description="Only with consent: true.")
    boxes: Annotated[list[Box], Field(max_length=5000)] | None = Field(
        default=None,
        description="The submitted boxes, [x1, y1, x2, y2, kind] in image pixels; only with consent: true.")

    @model_validator(mode="after")
    def _consented(self) -> FormulaScanSubmitted:
        if (self.image is not None or self.boxes is not None) and not self.consent:
            raise ValueError("image and boxes are accepted only with consent: true")
        if self.image is not None:
            if self.boxes is None:
                raise ValueError("an image needs its boxes (an empty list when the page has no formula)")
            w, h = self.image.dimensions()
            if any(b[2] > w or b[3] > h for b in self.boxes):
                raise ValueError(f"a box lies outside the {w}x{h} image")
        return self


class ScanAbandoned(_Common):
    """The user left without submitting."""

    type: Literal["scan_abandoned"]
    task: Literal["card", "formula"]
    reason: Token = Field(
        description='e.g. "user_cancelled", "manual_entry", "timeout", "camera_error", "other".')


class Feedback(_Common):
    """The user's own words (voice of the customer)."""

    type: Literal["feedback"]
    task: Literal["card", "formula"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    category: Token | None = Field(
        default=None, description='e.g. "wrong_number", "slow", "camera", "other".')
    rating: Annotated[int, Field(ge=1, le=5)] | None = None


def _event_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind, task = value.get("type"), value.get("task")
    else:
        kind, task = getattr(value, "type", None), getattr(value, "task", None)
    if kind in ("scan_result", "scan_submitted"):
        return f"{kind}.{task}"
    return kind if isinstance(kind, str) else None


Event = Annotated[
    Annotated[CardScanResult, Tag("scan_result.card")]
    | Annotated[FormulaScanResult, Tag("scan_result.formula")]
    | Annotated[CardScanSubmitted, Tag("scan_submitted.card")]
    | Annotated[FormulaScanSubmitted, Tag("scan_submitted.formula")]
    | Annotated[ScanAbandoned, Tag("scan_abandoned")]
    | Annotated[Feedback, Tag("feedback")],
    Discriminator(
        _event_tag,
        custom_error_type="event_type",
        custom_error_message="unknown event: type must be scan_result, scan_submitted, scan_abandoned or "
                             "feedback, and task card or formula",
    ),
]
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


def batch_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one request body: an array of at most `MAX_EVENTS` events.

    Returns:
        The schema as a dict; `events.schema.json` holds exactly this.

    >>> batch_json_schema()["maxItems"]
    500
    """
    schema = TypeAdapter(Annotated[list[Event], Field(max_length=MAX_EVENTS)]).json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pocketocr online events v1",
        "description": (
            "Body of POST /v1/events (Authorization: Bearer <api key>): a JSON array of at most "
            f"{MAX_EVENTS} events and {MAX_BODY_BYTES} bytes. Never send a full card number: the collector "
            "masks any Luhn-valid 13-19 digit run in any string. See docs/online.md."
        ),
        **schema,
    }


if __name__ == "__main__":
    json.dump(batch_json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
