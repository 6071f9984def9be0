"""Card reader: photo -> detector -> field crops -> recogniser -> Luhn-checked number and expiry.

The predictor only wires pre -> backend.run -> post; every rule lives in pre.py / post.py / rules.py.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from pathlib import Path

import numpy as np

from ...backends.base import Backend, open_backend
from ...io import ImageInput, load_image
from ...results import CardResult, FieldBox
from ...zoo import default_model
from .post import (DecodeConfig, PieceReading, choose_expiry_among, choose_number_lines, ctc_greedy, find_fields,
                   group_lines)
from .pre import PreSpec, crop_field, crop_tensor, letterbox, read_geoms
from .rules import brand_of, luhn_valid

__all__ = ["CardReader", "read_card", "card_reader"]


class CardReader:
    """Reads card numbers and expiry dates; load once, call many times.

    Args:
        det_model: detector model file (default: the shipped one for `backend`).
        rec_model: recogniser model file (default: the shipped one for `backend`).
        backend: "onnx" (onnxruntime) or "tflite" (LiteRT).
        threads: CPU threads per model (default 1, the mobile budget).
        config: decoding thresholds.
        votes_needed: agreeing frames before `feed` accepts a number (CardScan uses 5).

    >>> reader = CardReader()                        # doctest: +SKIP
    >>> reader.read("card.jpg").number               # doctest: +SKIP
    '4111111111111111'
    """

    def __init__(self, det_model: str | Path | None = None, rec_model: str | Path | None = None, *,
                 backend: str = "onnx", threads: int | None = None, config: DecodeConfig = DecodeConfig(),
                 votes_needed: int = 5):
        self.backend = backend
        self.det: Backend = open_backend(Path(det_model) if det_model else default_model("card", "det", backend), threads)
        self.rec: Backend = open_backend(Path(rec_model) if rec_model else default_model("card", "rec", backend), threads)
        # The preprocessing spec travels inside the model (metadata), not as constants here.
        self.spec = PreSpec.from_metadata({**self.rec.metadata(), **self.det.metadata()})
        self.config = config
        self.model_version = self.det.metadata().get("version", "unknown")
        self.votes_needed = votes_needed
        self._history: deque[CardResult] = deque(maxlen=max(8, 2 * votes_needed))
        self._det_in = self.det.input_names()[0]
        self._rec_in = self.rec.input_names()[0]

    def read(self, image: ImageInput) -> CardResult:
        """Read one photo. Raises `ImageError` for unreadable input."""
        t0 = time.perf_counter()
        img = load_image(image)
        x, meta = letterbox(img, self.spec)
        t1 = time.perf_counter()
        maps = self.det.run({self._det_in: x})[0][0]
        t2 = time.perf_counter()
        fields = find_fields(maps, meta, self.spec, self.config)
        numbers = sorted((f for f in fields if f.kind == "number"), key=lambda f: -f.score * f.geom.length)
        lines = group_lines(numbers[: self.config.max_number_pieces])
        numbers = [f for line in lines for f in line]
        # Several dates may be printed (VALID FROM / THRU): read up to three, choose_expiry_among picks.
        expiries = sorted((f for f in fields if f.kind == "expiry"), key=lambda f: -f.score)[:3]
        t3 = time.perf_counter()
        gray = img.convert("L")
        crops = [crop_field(gray, g, self.spec)
                 for g in read_geoms([f.geom for f in numbers], [f.geom for f in expiries], self.spec)]
        t3b = time.perf_counter()  # cutting the crops is pre-processing, not inference
        probs = self.rec.run({self._rec_in: crop_tensor(crops)})[0] if crops else np.zeros((0, 1, 1), np.float32)
        t4 = time.perf_counter()
        readings = iter(PieceReading(f, *ctc_greedy(p, self.spec.vocab)) for f, p in zip(numbers, probs))
        line_readings = [[next(readings) for _ in line] for line in lines]
        choice, used = choose_number_lines(line_readings, self.spec.vocab, self.config)
        exp_readings = [PieceReading(f, *ctc_greedy(p, self.spec.vocab)) for f, p in zip(expiries, probs[len(numbers):])]
        unused = [r for line in line_readings for r in line if r not in used]
        expiry, exp_conf, exp_piece = choose_expiry_among(exp_readings, unused)
        number = choice.number
        needs_review = (number is None or choice.needs_review
                        or (expiry is not None and exp_conf < self.config.review_confidence))
        t5 = time.perf_counter()
        boxes = {"number": [FieldBox(p.det.geom.box(), tuple(p.det.geom.quad())) for p in used],
                 "expiry": [FieldBox(exp_piece.det.geom.box(), tuple(exp_piece.det.geom.quad()))] if exp_piece else []}
        ms = lambda a, b: round((b - a) * 1000, 3)  # noqa: E731
        return CardResult(
            number=number, expiry=expiry, brand=brand_of(number) if number else None,
            luhn_valid=bool(number and luhn_valid(number)),
            confidence={"number": round(choice.confidence, 4), "expiry": round(exp_conf, 4)},
            needs_review=bool(needs_review), boxes=boxes,
            timings_ms={"pre": ms(t0, t1) + ms(t3, t3b), "infer": ms(t1, t2) + ms(t3b, t4), "post": ms(t2, t3) + ms(t4, t5),
                        "total": ms(t0, t5)})

    def feed(self, frame: ImageInput) -> CardResult | None:
        """Video mode: read a frame and vote. Returns the accepted result once `votes_needed` frames
        agree on the number (expiry by majority among them), else None. Call `reset()` per card."""
        result = self.read(frame)
        if result.number is not None:
            self._history.append(result)
        counts = Counter(r.number for r in self._history)
        if not counts:
            return None
        number, n = counts.most_common(1)[0]
        if n < self.votes_needed:
            return None
        agreeing = [r for r in self._history if r.number == number]
        expiries = Counter(r.expiry for r in agreeing if r.expiry)
        expiry = expiries.most_common(1)[0][0] if expiries else None
        best = max(agreeing, key=lambda r: r.confidence.get("number", 0.0))
        return CardResult(number=number, expiry=expiry, brand=best.brand, luhn_valid=best.luhn_valid,
                          confidence={"number": n / len(self._history),
                                      "expiry": (expiries[expiry] / len(agreeing)) if expiry else 0.0},
                          needs_review=not best.luhn_valid, boxes=best.boxes, timings_ms=result.timings_ms)

    def reset(self) -> None:
        """Forget the frames voted so far (start a new card)."""
        self._history.clear()


_DEFAULT: dict[tuple, CardReader] = {}


def card_reader(*, backend: str = "onnx", threads: int | None = None) -> CardReader:
    """The shared reader for the shipped models (created on first use)."""
    key = (backend, threads)
    if key not in _DEFAULT:
        _DEFAULT[key] = CardReader(backend=backend, threads=threads)
    return _DEFAULT[key]


def read_card(image: ImageInput, *, backend: str = "onnx", threads: int | None = None) -> CardResult:
    """Read the card number and expiry from one photo with the shipped models.

    Args:
        image: a path, encoded bytes, a PIL image or an HxWx3 uint8 RGB array. EXIF orientation applies.
        backend: "onnx" (default) or "tflite".
        threads: CPU threads (default 1).

    Returns:
        CardResult with number, expiry, brand, luhn_valid, confidence, needs_review, boxes, timings_ms.

    Raises:
        ImageError: the input is not a readable image.
        ModelError: the model files or the backend are missing.

    >>> read_card("card.jpg").expiry                 # doctest: +SKIP
    '09/27'
    """
    return card_reader(backend=backend, threads=threads).read(image)
