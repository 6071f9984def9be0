"""Result objects: frozen, JSON-serialisable, no images or tensors inside."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CardResult", "FieldBox", "Formula", "FormulaResult"]

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FieldBox:
    """Where a field was read: axis-aligned box (x1, y1, x2, y2) and the oriented quad, source pixels."""

    box: Box
    quad: tuple[tuple[float, float], ...]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FieldBox:
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
    def from_dict(cls, d: dict[str, Any]) -> CardResult:
        boxes = {k: [FieldBox.from_dict(b) for b in v] for k, v in d.get("boxes", {}).items()}
        return cls(d["number"], d["expiry"], d["brand"], bool(d["luhn_valid"]), dict(d["confidence"]),
                   bool(d["needs_review"]), boxes, dict(d.get("timings_ms", {})))


@dataclass(frozen=True)
class Formula:
    """One formula region: axis-aligned box (x1, y1, x2, y2) in source pixels, kind and detector score.

    `kind` is "embedded" (inline, inside a text line) or "isolated" (display, on its own line); a
    display formula over several lines gives one `Formula` per line.
    """

    box: Box
    kind: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"box": list(self.box), "kind": self.kind, "score": self.score}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Formula:
        return cls(tuple(float(v) for v in d["box"]), str(d["kind"]), float(d["score"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class FormulaResult:
    """What `detect_formulas` found on one page image.

    Attributes:
        formulas: every formula region, best score first.
        width: source image width (after EXIF orientation), pixels.
        height: source image height, pixels.
        timings_ms: {"pre", "infer", "post", "total"} in milliseconds.
    """

    formulas: list[Formula]
    width: int
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"formulas": [f.to_dict() for f in self.formulas], "width": self.width, "height": self.height,
                "timings_ms": dict(self.timings_ms)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FormulaResult:
        return cls([Formula.from_dict(f) for f in d.get("formulas", [])], int(d["width"]), int(d["height"]),
                   dict(d.get("timings_ms", {})))
