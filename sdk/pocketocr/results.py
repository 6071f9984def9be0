"""Result objects: frozen, JSON-serialisable, no images or tensors inside."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FieldBox", "CardResult"]

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FieldBox:
    """Where a field was read: axis-aligned box (x1, y1, x2, y2) and the oriented quad, source pixels."""

    box: Box
    quad: tuple[tuple[float, float], ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FieldBox":
        return cls(tuple(d["box"]), tuple(tuple(p) for p in d["quad"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class CardResult:
    """What `read_card` found on one image.

    Attributes:
        number: the card number as digits, or None when it could not be read confidently.
        expiry: "MM/YY", or None.
        brand: card brand from the IIN prefix ("visa", "mastercard", ...), or None.
        luhn_valid: whether `number` passes the Luhn check.
        confidence: per-field confidence in [0, 1]: {"number": ..., "expiry": ...}.
        needs_review: True when a person should check the result before it is used.
        boxes: per-field boxes: {"number": [FieldBox, ...one per printed line], "expiry": [FieldBox]}.
        timings_ms: {"pre", "infer", "post", "total"} in milliseconds.
    """

    number: str | None
    expiry: str | None
    brand: str | None
    luhn_valid: bool
    confidence: dict[str, float]
    needs_review: bool
    boxes: dict[str, list[FieldBox]] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["boxes"] = {k: [{"box": list(b["box"]), "quad": [list(p) for p in b["quad"]]} for b in v]
                      for k, v in d["boxes"].items()}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CardResult":
        boxes = {k: [FieldBox.from_dict(b) for b in v] for k, v in d.get("boxes", {}).items()}
        return cls(d["number"], d["expiry"], d["brand"], bool(d["luhn_valid"]), dict(d["confidence"]),
                   bool(d["needs_review"]), boxes, dict(d.get("timings_ms", {})))
