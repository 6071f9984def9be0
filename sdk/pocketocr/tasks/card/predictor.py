"""Card reader: photo -> detector -> field crops -> recogniser -> Luhn-checked number and expiry.

The predictor only wires pre -> backend.run -> post; every rule lives in pre.py / post.py / rules.py.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from ...backends.base import Backend, open_model
from ...io import ImageInput, load_image, load_image_scaled
from ...results import CardResult, FieldBox
from ...zoo import default_model
from .post import (
    DecodeConfig,
    NumberChoice,
    PieceReading,
    choose_expiry_among,
    choose_number_lines,
    choose_retried_number,
    ctc_greedy,
    expiry_retries,
    find_fields,
    retry_expiries,
    select_fields,
    strongest_line,
    zoom_region,
)
from .pre import (
    DetMeta,
    PreSpec,
    Turn,
    below_geoms,
    crop_field,
    crop_tensor,
    det_tensor,
    geom_from_quad,
    letterbox,
    line_geom,
    read_geoms,
    retry_geoms,
    turned_canvases,
    zoom_crop,
)
from .rules import brand_of, luhn_valid

__all__ = ["CardReader", "card_reader", "read_card"]


@dataclass(eq=False)
class _Pass:
    """What one detector + recogniser pass chose, and where its image sits in the photo."""

    choice: NumberChoice
    used: list[PieceReading]            # the number's pieces
    expiry: str | None
    exp_conf: float
    exp_piece: PieceReading | None
    sure: bool                          # number and expiry shown, neither needing review: no second read
    maps: np.ndarray
    meta: DetMeta
    offset: tuple[int, int]             # the pass's image origin in the photo
    found: bool                         # the detector marked a number field
    pre: float = 0.0                    # seconds
    infer: float = 0.0
    post: float = 0.0

    def field_box(self, piece: PieceReading, to_source: float = 1.0) -> FieldBox:
        """The field in the photo's pixels; `to_source` scales a reduced photo's pixels back to the file's."""
        g = piece.det.geom.shifted(*self.offset)
        return FieldBox(tuple(v * to_source for v in g.box()),
                        tuple((x * to_source, y * to_source) for x, y in g.quad()))


def pick_passes(passes: list[_Pass], min_confidence: float) -> tuple[_Pass, _Pass]:
    """(the pass whose number is used, the pass whose expiry is used): a shown field beats a withheld one,
    then the higher confidence; a tie goes to the later (zoomed) pass. The zoomed pass's number is not taken
    when it is shown below `min_confidence` (an unsure Luhn repair): on 2 000 synthetic photos only 11 of 52
    such numbers were right."""
    first, later = passes[0], passes[1:]
    eligible = [first] + [p for p in later if p.choice.number is not None and p.choice.confidence >= min_confidence]
    num = max(reversed(eligible), key=lambda p: (p.choice.number is not None, p.choice.confidence))
    exp = max(reversed(passes), key=lambda p: (p.expiry is not None, p.exp_conf))
    return num, exp


def pick_turned(num: _Pass, turned: list[_Pass], min_confidence: float, votes: int) -> _Pass:
    """The pass whose number is shown after the turned reads (`DecodeConfig.turn_angles`): among the turned
    passes showing a number at `min_confidence` or more, the surest whose number at least `votes` of them show,
    flagged for review; else `num`, which showed none. Only the number is taken: the unturned passes read the
    expiry as well as any turned one."""
    shown = [p for p in turned if p.choice.number is not None and p.choice.confidence >= min_confidence]
    counts = Counter(p.choice.number for p in shown)
    agreed = [p for p in shown if counts[p.choice.number] >= votes]
    if not agreed:
        return num
    best = max(agreed, key=lambda p: p.choice.confidence)  # the first of equals, as the app's port
    return replace(best, choice=replace(best.choice, needs_review=True))


def needs_review(choice: NumberChoice, expiry: str | None, exp_conf: float, cfg: DecodeConfig) -> bool:
    """A person should check the result: no number, a number the decoder flags, or an unsure expiry."""
    return choice.number is None or choice.needs_review or (expiry is not None and exp_conf < cfg.review_confidence)


class CardReader:
    """Reads card numbers and expiry dates; load once, call many times.

    Args:
        det_model: detector model file (default: the shipped one for `backend`), or an open `Backend` (the
            export's parity gate reads with the checkpoint's torch modules that way).
        rec_model: recogniser model file (default: the shipped one for `backend`), or an open `Backend`.
        backend: "onnx" (onnxruntime) or "tflite" (LiteRT).
        threads: CPU threads per model (default 1, the mobile budget).
        config: decoding thresholds.
        votes_needed: agreeing frames before `feed` accepts a number (CardScan uses 5).
        max_side: a photo at least twice this long is read reduced by an integer factor to at least this long
            side (a JPEG decoded at that scale; `pocketocr.io.load_image_scaled`); None reads every pixel.
            1600 px is the largest photo the models were trained on: on 300 synthetic photos enlarged to
            12 MP the reduced read was as accurate as the full one, in 0.4 of its time (docs/export.md).

    >>> reader = CardReader()                        # doctest: +SKIP
    >>> reader.read("card.jpg").number               # doctest: +SKIP
    '4111111111111111'
    """

    def __init__(self, det_model: str | Path | Backend | None = None, rec_model: str | Path | Backend | None = None, *,
                 backend: str = "onnx", threads: int | None = None, config: DecodeConfig = DecodeConfig(),
                 votes_needed: int = 5, max_side: int | None = 1600, turn_every: int = 4):
        self.backend = backend
        self.max_side = max_side
        self.det: Backend = open_model(det_model or default_model("card", "det", backend), threads)
        self.rec: Backend = open_model(rec_model or default_model("card", "rec", backend), threads)
        # The preprocessing spec travels inside the model (metadata), not as constants here.
        self.spec = PreSpec.from_metadata({**self.rec.metadata(), **self.det.metadata()})
        self.config = config
        self.model_version = self.det.metadata().get("version", "unknown")
        self.votes_needed = votes_needed
        # video: the turned reads (six more passes) on one frame in `turn_every`, so that frames of a card not yet
        # readable (out of focus, moving) keep the camera's pace; a tilted card is still read on those frames
        self.turn_every = max(1, turn_every)
        self._frames = 0
        self._history: deque[CardResult] = deque(maxlen=max(8, 2 * votes_needed))
        self._det_in = self.det.input_names()[0]
        self._rec_in = self.rec.input_names()[0]

    def read(self, image: ImageInput, *, turn: bool = True) -> CardResult:
        """Read one photo. Raises `ImageError` for unreadable input.

        When the first pass is not sure of both fields, a second pass reads the square around what it
        marked (`zoom_region`) and each field is taken from the pass that is surer of it. When neither shows
        a number but one marked a number field, the photo is read turned by each of `turn_angles` (`turn`
        False: not on this photo)."""
        t0 = time.perf_counter()
        img, scale, _ = load_image_scaled(image, self.max_side)
        gray = img.convert("L")  # once: the first pass and the turned ones cut their crops from it
        loading = time.perf_counter() - t0  # decoding the file (and its grey copy) counts as pre-processing
        passes = [self._read_pass(img, (0, 0), gray)]
        box = None if (passes[0].sure or not self.config.zoom) else zoom_region(
            passes[0].maps, passes[0].meta, self.spec, self.config)
        if box is not None:
            passes.append(self._read_pass(zoom_crop(img, box, self.spec), box[:2]))
        num, exp = pick_passes(passes, self.config.min_confidence)
        # no number shown, but something marked as one: the turned reads (a frame without a card costs none)
        if turn and num.choice.number is None and self.config.turn_angles and any(p.found for p in passes):
            t1 = time.perf_counter()
            canvases = turned_canvases(img, self.config.turn_angles, self.spec)
            loading += time.perf_counter() - t1  # counted as pre-processing, as the photo's decoding
            turned = [self._read_pass(img, (0, 0), gray, turned=t) for t in canvases]
            passes += turned
            num = pick_turned(num, turned, self.config.turn_confidence, self.config.turn_votes)
        choice, expiry, exp_conf = num.choice, exp.expiry, exp.exp_conf
        number = choice.number
        boxes = {"number": [num.field_box(p, 1 / scale) for p in num.used],
                 "expiry": [exp.field_box(exp.exp_piece, 1 / scale)] if exp.exp_piece else []}
        ms = lambda key: round(sum(getattr(p, key) for p in passes) * 1000, 3)
        return CardResult(
            number=number, expiry=expiry, brand=brand_of(number) if number else None,
            luhn_valid=bool(number and luhn_valid(number)),
            confidence={"number": round(choice.confidence, 4), "expiry": round(exp_conf, 4)},
            needs_review=needs_review(choice, expiry, exp_conf, self.config), boxes=boxes,
            timings_ms={"pre": round(loading * 1000, 3) + ms("pre"), "infer": ms("infer"), "post": ms("post"),
                        "total": round((time.perf_counter() - t0) * 1000, 3)})

    def _read_pass(self, img: Image.Image, offset: tuple[int, int], gray: Image.Image | None = None,
                   turned: tuple[np.ndarray, Turn] | None = None) -> _Pass:
        """Detector, crops, recogniser and decoder over one image (the photo, or the zoomed square at
        `offset` in the photo; `gray` is its grey copy where one was made); with `turned` (a canvas of
        `turned_canvases`), the detector sees the photo turned and its fields are turned back, so the crops are
        cut from the photo as always."""
        t0 = time.perf_counter()
        if gray is None:
            gray = img.convert("L")
        if turned is None:
            x, meta = letterbox(img, self.spec)
        else:
            x, meta = det_tensor(turned[0][None], self.spec), DetMeta(1.0, (self.spec.det_size,) * 2)
        t1 = time.perf_counter()
        maps = self.det.run({self._det_in: x})[0][0]
        t2 = time.perf_counter()
        fields = find_fields(maps, meta, self.spec, self.config)
        if turned is not None:
            fields = [replace(f, geom=turned[1].to_photo(f.geom)) for f in fields]
        lines, expiries = select_fields(fields, self.config)
        numbers = [f for line in lines for f in line]
        probs, cut, rec = self._recognise(gray, read_geoms([f.geom for f in numbers], [f.geom for f in expiries],
                                                            self.spec))
        pre, infer = (t1 - t0) + cut, (t2 - t1) + rec
        readings = iter(PieceReading(f, *ctc_greedy(p, self.spec.vocab)) for f, p in zip(numbers, probs))
        line_readings = [[next(readings) for _ in line] for line in lines]
        choice, used = choose_number_lines(line_readings, self.spec.vocab, self.config)
        if choice.number is None and lines and self.config.number_retry_extend > 0:
            # no number to show: the strongest line once more as one longer crop (the others never added a
            # number on 2 000 synthetic photos)
            i = strongest_line(lines)
            whole, cut, rec = self._recognise(gray, [line_geom([f.geom for f in lines[i]],
                                                               self.config.number_retry_extend)])
            pre, infer = pre + cut, infer + rec
            picked = choose_retried_number([PieceReading(lines[i][0], *ctc_greedy(whole[0], self.spec.vocab))],
                                           self.spec.vocab, self.config)
            if picked is not None:
                choice, used = picked[0], line_readings[i]
        exp_readings = [PieceReading(f, *ctc_greedy(p, self.spec.vocab)) for f, p in zip(expiries, probs[len(numbers):])]
        again = expiry_retries(exp_readings, self.config)
        if again:  # expiry fields that read no date: once more from a longer crop
            longer, cut, rec = self._recognise(gray, retry_geoms([expiries[i].geom for i in again], self.spec,
                                                                 self.config.expiry_retry_length))
            pre, infer = pre + cut, infer + rec
            exp_readings = retry_expiries(exp_readings, {i: PieceReading(expiries[i], *ctc_greedy(p, self.spec.vocab))
                                                         for i, p in zip(again, longer)}, self.config)
        still = expiry_retries(exp_readings, self.config) if self.config.expiry_below[0] > 0 else []
        if still:  # the detector may have marked a label above the date: read below the field
            geoms = below_geoms([expiries[i].geom for i in still], self.spec, *self.config.expiry_below,
                                self.config.expiry_retry_length)
            below, cut, rec = self._recognise(gray, geoms)
            pre, infer = pre + cut, infer + rec
            exp_readings = retry_expiries(exp_readings, {
                i: PieceReading(replace(expiries[i], geom=g), *ctc_greedy(p, self.spec.vocab))
                for i, g, p in zip(still, geoms, below)}, self.config)
        unused = [r for line in line_readings for r in line if r not in used]
        expiry, exp_conf, exp_piece = choose_expiry_among(exp_readings, unused, self.config.min_expiry_confidence)
        sure = expiry is not None and not needs_review(choice, expiry, exp_conf, self.config)
        total = time.perf_counter() - t0
        return _Pass(choice, used, expiry, exp_conf, exp_piece, sure, maps, meta, offset, bool(lines),
                     pre=pre, infer=infer, post=total - pre - infer)

    def _recognise(self, gray: Image.Image, geoms: list) -> tuple[np.ndarray, float, float]:
        """Recogniser probabilities for the crops of `geoms`, and the seconds spent cutting the crops
        (pre-processing) and reading them (inference)."""
        t0 = time.perf_counter()
        crops = [crop_field(gray, g, self.spec) for g in geoms]
        t1 = time.perf_counter()
        probs = self.rec.run({self._rec_in: crop_tensor(crops)})[0] if crops else np.zeros((0, 1, 1), np.float32)
        return probs, t1 - t0, time.perf_counter() - t1

    def feed(self, frame: ImageInput) -> CardResult | None:
        """Video mode: read a frame and vote. Returns the accepted result once `votes_needed` frames
        agree on the number (expiry by majority among them), else None. Call `reset()` per card. The turned
        reads run on one frame in `turn_every`."""
        result = self.read(frame, turn=self._frames % self.turn_every == 0)
        self._frames += 1
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

    def read_quad_texts(self, image: ImageInput, quads: list) -> list[str]:
        """The recogniser alone on given field quads ((tl, tr, br, bl) in the photo's pixels), one best-path text
        per quad, the photo decoded once for all of them. Read from labelled quads it is what a perfect detector
        would give the recogniser to read: `pocketocr eval card --ceiling` splits the misses between the models."""
        gray = load_image(image).convert("L")  # every pixel: labelled quads are in the photo's own pixels
        probs, _, _ = self._recognise(gray, [geom_from_quad(q) for q in quads])
        return [ctc_greedy(p, self.spec.vocab)[0] for p in probs]

    def reset(self) -> None:
        """Forget the frames voted so far (start a new card)."""
        self._history.clear()
        self._frames = 0


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
