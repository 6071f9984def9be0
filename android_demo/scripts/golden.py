"""Golden vectors for the browser port: the Python SDK's answer at every stage, written for the JS tests.

    python android_demo/scripts/golden.py OUT_DIR [--models DIR]

Card cases (synthetic photos from `pocketocr.training.card.synth.make_sample`, run through the shipped
models): RGB image -> letterbox canvas and detector tensor -> detector maps (Python onnxruntime) ->
fields -> grey -> recogniser crops and tensor -> recogniser probabilities -> decoded CardResult. Crop cases
cut the labelled number fields (independent of the detector's quality). Decode cases feed synthetic
detector maps and CTC probabilities with uncertain digits through the decoder (Luhn repair, withholding).
Formula cases: synthetic pages -> grey canvas (BOX resize) and tensor, synthetic core/box maps -> boxes,
and the shipped formula detector's maps and boxes when the model is there, decoded and snapped to the ink.

Each array is a raw little-endian .bin file (uint8 or float32) named in `index.json`; the JS side
(android_demo/test/golden.test.ts) recomputes every stage from the previous stage's *Python* output, so a
difference is pinned to one stage. Images are passed as decoded RGB pixels (PIL's decoder), never as JPEG.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image
from pocketocr.backends.base import open_backend
from pocketocr.tasks.card import post as card_post
from pocketocr.tasks.card import pre as card_pre
from pocketocr.tasks.card import rules as card_rules
from pocketocr.tasks.card.predictor import CardReader
from pocketocr.tasks.formula import post as formula_post
from pocketocr.tasks.formula import pre as formula_pre
from pocketocr.zoo import MODELS_DIR

CARD_SEEDS = [11, 23, 37, 41, 58, 64, 79, 83, 8000608]  # the last: a label above the date, marked as the date
TURN_ANGLES = [15.0, -25.0]  # turned canvases written for every card case (pre.py `turned_canvases`)


class _Writer:
    def __init__(self, out: Path):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)

    def arr(self, name: str, a: np.ndarray) -> dict:
        a = np.ascontiguousarray(a)
        assert a.dtype in (np.uint8, np.float32), a.dtype
        (self.out / f"{name}.bin").write_bytes(a.astype(a.dtype.newbyteorder("<")).tobytes())
        return {"file": f"{name}.bin", "dtype": str(a.dtype), "shape": list(a.shape)}


def _geom(g: card_pre.FieldGeom) -> dict:
    return {"cx": g.cx, "cy": g.cy, "ux": g.ux, "uy": g.uy, "length": g.length, "height": g.height}


def _result(r) -> dict:
    d = r.to_dict()
    d.pop("timings_ms", None)
    return d


@dataclass
class _CardPass:
    arrays: dict            # what the JS test replays: canvas, tensors, maps, fields, crops, probabilities
    maps: np.ndarray
    meta: card_pre.DetMeta


def _recognised(w: _Writer, name: str, gray: Image.Image, geoms: list, reader: CardReader) -> tuple[dict, np.ndarray]:
    """One recogniser call of the reader over the crops of `geoms`: what the JS test replays (their geometry, crops,
    tensor and probabilities), and the probabilities."""
    crops = [card_pre.crop_field(gray, g, reader.spec) for g in geoms]
    t = card_pre.crop_tensor(crops)
    probs = reader.rec.run({reader._rec_in: t})[0]
    return ({"crop_geoms": [_geom(g) for g in geoms], "crops": w.arr(f"{name}_crops", np.stack(crops)),
             "rec_in": w.arr(f"{name}_rec_in", t), "probs": w.arr(f"{name}_probs", probs)}, probs)


def _turn(t: card_pre.Turn) -> dict:
    return {"angle": t.angle, "scale": t.scale, "src_size": list(t.src_size), "box_size": list(t.box_size)}


def _card_pass(w: _Writer, name: str, img: Image.Image, reader: CardReader, turn: float | None = None) -> _CardPass:
    """Every stage of one detector + recogniser pass of CardReader.read over `img` (turned by `turn` degrees for
    the detector, the reader's last retry)."""
    spec, cfg = reader.spec, reader.config
    extra = {}
    if turn is None:
        canvas, meta = card_pre.letterbox_canvas(img, spec)
    else:
        ((canvas, t),) = card_pre.turned_canvases(img, [turn], spec)
        meta = card_pre.DetMeta(1.0, (spec.det_size, spec.det_size))
        extra["turn"] = _turn(t)
    x = card_pre.det_tensor(canvas[None], spec)
    maps = reader.det.run({reader._det_in: x})[0]
    fields = card_post.find_fields(maps[0], meta, spec, cfg)
    if turn is not None:
        extra["canvas_fields"] = [{"kind": f.kind, "score": f.score, "geom": _geom(f.geom)} for f in fields]
        fields = [replace(f, geom=t.to_photo(f.geom)) for f in fields]
    lines, expiries = card_post.select_fields(fields, cfg)
    numbers = [f for line in lines for f in line]
    gray = img.convert("L")
    geoms = card_pre.read_geoms([f.geom for f in numbers], [f.geom for f in expiries], spec)
    arrays = {"canvas": w.arr(f"{name}_canvas", canvas), "det_in": w.arr(f"{name}_det_in", x),
              "maps": w.arr(f"{name}_maps", maps), "scale": meta.scale, "grey": w.arr(f"{name}_grey", np.asarray(gray)),
              "fields": [{"kind": f.kind, "score": f.score, "geom": _geom(f.geom)} for f in fields],
              "crop_geoms": [_geom(g) for g in geoms], **extra}
    if not geoms:
        return _CardPass(arrays, maps, meta)
    first, probs = _recognised(w, name, gray, geoms, reader)
    arrays.update(first)
    # no number to show: the strongest number line read again as one longer crop (a second recogniser call)
    pieces = iter(card_post.PieceReading(f, *card_post.ctc_greedy(p, spec.vocab)) for f, p in zip(numbers, probs))
    choice, _ = card_post.choose_number_lines([[next(pieces) for _ in line] for line in lines], spec.vocab, cfg)
    if choice.number is None and lines and cfg.number_retry_extend > 0:
        strongest = lines[card_post.strongest_line(lines)]
        arrays["number_retry"] = _recognised(w, f"{name}_number_retry", gray, [card_pre.line_geom(
            [f.geom for f in strongest], cfg.number_retry_extend)], reader)[0]
    # expiry fields that read no date are read again from a longer crop (one more recogniser call)
    readings = [card_post.PieceReading(f, *card_post.ctc_greedy(p, spec.vocab)) for f, p in zip(expiries, probs[len(numbers):])]
    again = card_post.expiry_retries(readings, cfg)
    if again:
        rgeoms = card_pre.retry_geoms([expiries[i].geom for i in again], spec, cfg.expiry_retry_length)
        retried, rprobs = _recognised(w, f"{name}_retry", gray, rgeoms, reader)
        arrays["retry"] = {"idx": again, **retried}
        readings = card_post.retry_expiries(readings, {i: card_post.PieceReading(expiries[i], *card_post.ctc_greedy(
            p, spec.vocab)) for i, p in zip(again, rprobs)}, cfg)
    # fields that still read no date: once more from a crop below each (a label above the date marked instead)
    still = card_post.expiry_retries(readings, cfg) if cfg.expiry_below[0] > 0 else []
    if still:
        bgeoms = card_pre.below_geoms([expiries[i].geom for i in still], spec, *cfg.expiry_below, cfg.expiry_retry_length)
        arrays["below"] = {"idx": still, **_recognised(w, f"{name}_below", gray, bgeoms, reader)[0]}
    return _CardPass(arrays, maps, meta)


def _shrink_geoms(g: card_pre.FieldGeom, size: tuple[int, int]) -> list[card_pre.FieldGeom]:
    """Fields tall enough that crop_field pre-shrinks the photo (a field over 2 x rec_height / 1.5 px tall, as
    on a 12 MP photo), over the number, hanging off the top-left corner, and wholly off the photo: the
    pre-shrink's window, its clipping at the edges and its empty case."""
    tall = replace(g, height=max(g.height, 20.0) * 4)
    return [tall, replace(tall, cx=0.0, cy=0.0), replace(tall, cx=-3.0 * size[0], cy=size[1] / 2)]


def _read_with_turns(reader: CardReader, img: Image.Image):
    """`reader.read(img)`, and the angles of the turned passes it made (none when a read showed a number)."""
    seen: list[float] = []
    inner = reader._read_pass

    def spy(image, offset, gray=None, turned=None):
        if turned is not None:
            seen.append(turned[1].angle)
        return inner(image, offset, gray, turned)

    reader._read_pass = spy
    try:
        return reader.read(img), seen
    finally:
        del reader._read_pass


def card_cases(w: _Writer, reader: CardReader) -> list[dict]:
    from pocketocr.training.card.synth import make_sample

    spec, cfg = reader.spec, reader.config
    cases = []
    for seed in CARD_SEEDS:
        s = make_sample(seed, version=2)  # pinned, so the vectors do not move with the generator
        img = s.image.convert("RGB")
        k = 1.0
        if seed == 64:  # a small, odd-sized photo: upscaling in the letterbox, crops at low resolution
            img = img.resize((301, 187), Image.BILINEAR)
            k = 301 / s.image.width
        if seed == 79:  # a 1:4 portrait: Pillow 13 would letterbox it vertical pass first (tasks/resample.py)
            img = img.resize((img.width // 3, img.height * 2), Image.BILINEAR)
            k = img.width / s.image.width  # x only; the label crops below are pixel-parity checks, not fields
        if seed == 41:  # a large photo (label crops of fields taller than the photo's: `_shrink_geoms`)
            img = img.resize((round(img.width * 1.7), round(img.height * 1.7)), Image.BILINEAR)
            k = img.width / s.image.width
        name = f"card_{seed}"
        first = _card_pass(w, name, img, reader)
        case = {"name": name, "kind": "card", "seed": seed, "width": img.width, "height": img.height,
                "image": w.arr(f"{name}_rgb", np.asarray(img)), **first.arrays}
        # the second read of CardReader.read: the square around what the first pass marked, unless it was sure
        region = card_post.zoom_region(first.maps[0], first.meta, spec, cfg)
        case["zoom_region"] = list(region) if region else None
        case["zoom"] = None
        # the reader's own rule for a second read: the first pass was not sure of both fields
        if region and cfg.zoom and not reader._read_pass(img, (0, 0)).sure:
            zoomed = card_pre.zoom_crop(img, region, spec)
            second = _card_pass(w, f"{name}_zoom", zoomed, reader)
            case["zoom"] = {"box": list(region), "width": zoomed.width, "height": zoomed.height,
                            "image": w.arr(f"{name}_zoom_rgb", np.asarray(zoomed)), **second.arrays}
        # the reader's last retry when no read shows a number: the photo turned by each of `turn_angles`
        result, turns = _read_with_turns(reader, img)
        case["turns"] = [_card_pass(w, f"{name}_turn{i}", img, reader, a).arrays for i, a in enumerate(turns)]
        case["result"] = _result(result)
        # turned canvases at fixed angles, whatever the reader did (their pixels and the turn's geometry)
        case["turned"] = []
        for a, (canvas, t) in zip(TURN_ANGLES, card_pre.turned_canvases(img, TURN_ANGLES, spec)):
            probe = card_pre.FieldGeom(150.0, 120.0, 0.8, 0.6, 90.0, 14.0)
            case["turned"].append({"canvas": w.arr(f"{name}_turned{a:+.0f}", canvas), "turn": _turn(t),
                                   "probe": _geom(probe), "probe_in_photo": _geom(t.to_photo(probe))})
        # the labelled number fields, cut by the Python crop (independent of the detector)
        quads = s.number_quads + ([s.expiry_quad] if s.expiry_quad else [])
        label_geoms = [card_pre.geom_from_quad([[x * k, y * k] for x, y in q]) for q in quads]
        label_geoms += _shrink_geoms(label_geoms[0], img.size)
        case["label_geoms"] = [_geom(g) for g in label_geoms]
        gray = img.convert("L")
        case["label_crops"] = w.arr(f"{name}_label_crops", np.stack([card_pre.crop_field(gray, g, spec) for g in label_geoms]))
        cases.append(case)
    return cases


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def _ctc_probs(r: random.Random, text: str, vocab: str, T: int, uncertain: dict[int, tuple[str, float]]) -> np.ndarray:
    """(T, C) probabilities spelling `text` with blanks between; at uncertain positions a rival class."""
    C = len(vocab) + 1
    logits = np.full((T, C), -6.0, np.float32)
    logits[:, 0] = 6.0
    t = 2
    for i, ch in enumerate(text):
        k = vocab.index(ch) + 1
        for dt in range(2):
            logits[t + dt, k] = 6.0 + r.random()
            logits[t + dt, 0] = -2.0
            for j in range(1, C):
                if j != k:
                    logits[t + dt, j] = -6.0 + 3 * r.random()
        if i in uncertain:
            rival, gap = uncertain[i]
            logits[t, vocab.index(rival) + 1] = logits[t, k] - gap
            logits[t + 1, vocab.index(rival) + 1] = logits[t + 1, k] - gap - 0.3
        t += 4 if ch != text[i - 1: i] else 5
    return _softmax(logits)


def decode_cases(w: _Writer, spec: card_pre.PreSpec) -> list[dict]:
    """Synthetic detector maps and CTC outputs that exercise every branch of the card decoder."""
    cfg = card_post.DecodeConfig()
    r = random.Random(5)
    cases = []
    # Detector maps: tilted number pieces (two lines), an expiry, noise blobs below the thresholds.
    for n in range(4):
        h = w_ = 96
        maps = np.zeros((5, h, w_), np.float32)
        maps[2] = 0.8
        ang = r.uniform(-0.5, 0.5) + (np.pi / 2 if n == 3 else 0.0)
        maps[3], maps[4] = np.cos(ang) + r.uniform(-0.1, 0.1), np.sin(ang)
        rng = np.random.default_rng(n)
        for ch, (cy, cx, ln) in [(0, (40, 30, 20)), (0, (40, 60, 18)), (0, (52, 40, 24)), (1, (70, 50, 10)), (1, (80, 20, 6))]:
            for a in range(-ln // 2, ln // 2):
                for b in (-1, 0, 1):
                    y = int(round(cy + a * np.sin(ang) + b * np.cos(ang)))
                    x = int(round(cx + a * np.cos(ang) - b * np.sin(ang)))
                    if 0 <= y < h and 0 <= x < w_:
                        maps[ch, y, x] = max(maps[ch, y, x], 0.55 + 0.45 * rng.random())
                        maps[2, y, x] = 0.5 + rng.random()
        maps[0] += (rng.random((h, w_)) * 0.6 * (rng.random((h, w_)) < 0.02)).astype(np.float32)
        meta = card_pre.DetMeta(0.3 + 0.2 * n, (1280, 960))
        # odd cases decode as a detector on filled targets does (v1-v6 files: fields moved back half a cell)
        shift = 0.5 if n % 2 else spec.field_shift
        fields = card_post.find_fields(maps, meta, replace(spec, field_shift=shift), cfg)
        ordered = card_post.order_lines([f for f in fields if f.kind == "number"])
        cases.append({"name": f"det_{n}", "kind": "det_decode", "maps": w.arr(f"det_{n}_maps", maps), "scale": meta.scale,
                      "src_size": list(meta.src_size), "field_shift": shift,
                      "fields": [{"kind": f.kind, "score": f.score, "geom": _geom(f.geom)} for f in fields],
                      "ordered": [_geom(f.geom) for f in ordered]})
    # Stacked number lines whose blobs touch (split_stacked): four lines three rows thick, joined by
    # thinner, weaker rows; then one thick single line that must stay whole.
    for n, (lines, gap_p) in enumerate([(4, 0.6), (1, 0.0)], start=4):
        h = w_ = 96
        maps = np.zeros((5, h, w_), np.float32)
        maps[2] = 12.0 / spec.height_unit  # three rows at stride 4
        maps[3] = 1.0
        rng = np.random.default_rng(n)
        top = 20
        for i in range(lines):
            y0 = top + 4 * i
            maps[0, y0:y0 + 3, 20:60] = 0.8 + 0.2 * rng.random((3, 40))
            if i + 1 < lines:
                maps[0, y0 + 3, 26:54] = gap_p + 0.1 * rng.random(28)
        if lines == 1:
            maps[0, top:top + 8, 20:60] = 0.8 + 0.2 * rng.random((8, 40))
            maps[0, top + 4, 20:60] *= 0.9  # a shallow dip inside one line is not a gap
        meta = card_pre.DetMeta(0.5, (1280, 960))
        fields = card_post.find_fields(maps, meta, spec, cfg)
        assert len(fields) == lines, (lines, len(fields))  # the vectors show what they claim to
        ordered = card_post.order_lines([f for f in fields if f.kind == "number"])
        cases.append({"name": f"det_{n}", "kind": "det_decode", "maps": w.arr(f"det_{n}_maps", maps), "scale": meta.scale,
                      "src_size": list(meta.src_size), "field_shift": spec.field_shift,
                      "fields": [{"kind": f.kind, "score": f.score, "geom": _geom(f.geom)} for f in fields],
                      "ordered": [_geom(f.geom) for f in ordered]})
    # CTC: valid, one and two uncertain digits (Luhn repair), hopeless, expiry texts.
    texts = [("4111111111111111", {}), ("4111111111111112", {15: ("1", 0.5)}), ("4111111111111121", {14: ("1", 1.0), 15: ("2", 2.0)}),
             ("5500000000000005", {3: ("8", 0.2)}), ("3782822463100050", {}), ("4012888888881882", {6: ("6", 0.4), 12: ("8", 0.1)}),
             ("12/27", {}), ("13/27", {0: ("0", 0.3)}), ("0927", {}), ("4111111111111111", {2: ("7", 4.0), 9: ("7", 4.0)}),
             ("6011111111111117", {0: ("8", 0.05), 5: ("3", 0.6), 10: ("3", 1.2)}), ("", {}),
             ("109/27", {}), ("05/1305/28", {1: ("8", 0.5)}), ("1/2/3", {}),
             ("4111111111111112", {15: ("1", 2.5)}), ("4111111111111112", {15: ("1", 1.5), 3: ("7", 0.1)})]  # unsure repairs
    for n, (text, unc) in enumerate(texts):
        probs = _ctc_probs(r, text, spec.vocab, 96, unc)
        t, c, d = card_post.ctc_greedy(probs, spec.vocab)
        choice = card_post.choose_number(t, c, d, spec.vocab, cfg)
        exp = card_post.choose_expiry(t, c)
        cands = card_post.ctc_candidates(t, c, d, spec.vocab, cfg.max_substitutions)
        cases.append({"name": f"ctc_{n}", "kind": "ctc", "probs": w.arr(f"ctc_{n}_probs", probs), "text": t, "confs": c,
                      "number": {"number": choice.number, "confidence": choice.confidence, "repaired": choice.repaired,
                                 "needs_review": choice.needs_review},
                      "expiry": [exp[0], exp[1]], "candidates": [[a, b] for a, b in cands]})
    # Line runs: the number among runs of lines, stray pieces, a mislabelled date, several expiry fields.
    geom = card_pre.FieldGeom(100.0, 100.0, 1.0, 0.0, 200.0, 20.0)
    layouts = [
        ([["5500", "0000"], ["0000", "0004"], ["09/27"], ["1234"]], ["05/23", "08/29"]),
        ([["4111111111111111"]], []),
        ([["12"], ["4012", "8888"], ["8888", "1881"]], ["VALID"]),
        ([["3782"], ["822463"], ["10005"], ["777"], ["11/30"]], []),
        ([["4111111111111112"], ["4111111111111111"]], ["109/27", "12/26"]),
        ([["17", "4012888888881881"]], []),                      # a stray piece before the number: left out
        ([["4111", "1111", "1111", "1111", "38"], ["12/26"]], []),  # ... and after it
        ([["4012888888881881", "1234"]], []),                    # 4 characters: too long to leave out
        ([["3533251393872563"], ["822"]], []),                   # a Luhn-valid whole beats its sure, invalid first line
        ([["6304"], ["9857"], ["6360"], ["818100"]], []),         # of two Luhn-valid readings, the brand's grouping
        ([["9860", "0712", "3456", "785"]], []),                 # Luhn-valid, but 15 digits: Humo prints 16
        ([["6500", "3112", "3456", "7892"]], []),                # an Elo range inside Discover's 65
        ([["9704", "1234", "5678", "9012", "345"]], []),         # Napas at 19 digits
    ]
    for n, (lines, exps) in enumerate(layouts):
        arrays, line_readings, k = [], [], 0
        def reading(text, score):  # called only within this iteration (B023 below)
            nonlocal k
            probs = _ctc_probs(r, "".join(ch for ch in text if ch in spec.vocab), spec.vocab, 96,
                               {0: ("7", 0.8)} if text == "4111111111111112" else {})
            arrays.append(probs)  # noqa: B023
            k += 1
            return card_post.PieceReading(card_post.Detected("number", geom, score), *card_post.ctc_greedy(probs, spec.vocab))
        line_readings = [[reading(t, 0.6 + 0.05 * ((i + j) % 5)) for j, t in enumerate(line)] for i, line in enumerate(lines)]
        exp_readings = [reading(t, 0.7) for t in exps]
        choice, used = card_post.choose_number_lines(line_readings, spec.vocab, cfg)
        unused = [x for line in line_readings for x in line if x not in used]
        value, conf, piece = card_post.choose_expiry_among(exp_readings, unused)
        flat = [x for line in line_readings for x in line] + exp_readings
        cases.append({"name": f"lines_{n}", "kind": "lines", "probs": w.arr(f"lines_{n}_probs", np.stack(arrays)),
                      "line_sizes": [len(line) for line in lines], "n_expiry": len(exps),
                      "scores": [x.det.score for x in flat],
                      "number": {"number": choice.number, "confidence": choice.confidence, "repaired": choice.repaired,
                                 "needs_review": choice.needs_review},
                      "used": [flat.index(x) for x in used], "expiry": [value, conf],
                      "expiry_piece": flat.index(piece) if piece is not None else None})
    return cases


def formula_cases(w: _Writer, models: Path) -> list[dict]:
    from pocketocr.training.formula.bank import build_bank
    from pocketocr.training.formula.synth import make_page

    spec = formula_pre.PreSpec()
    model = models / "formula_det.int8.onnx"
    det = open_backend(model) if model.exists() else None
    if det is not None:
        spec = formula_pre.PreSpec.from_metadata(det.metadata())
    bank = build_bank(seed=3, n_inline=12, n_display=6)
    cases = []
    # the last: a 1:4 strip of a page, which Pillow 13 would resize vertical pass first (tasks/resample.py)
    for n, (seed, photo, size) in enumerate([(101, False, None), (202, True, None), (303, True, (700, 520)),
                                             (404, False, (600, 2400))]):
        page = make_page(seed, bank, photo)
        img = page.image.convert("RGB")
        if size:
            img = img.resize(size, Image.BILINEAR)  # 700 x 520: under long_side, the BILINEAR (enlarge) branch
        canvas, meta = formula_pre.page_canvas(img, spec)
        x = formula_pre.det_tensor(canvas[None], spec)
        case = {"name": f"page_{n}", "kind": "page", "width": img.width, "height": img.height,
                "image": w.arr(f"page_{n}_rgb", np.asarray(img)), "canvas": w.arr(f"page_{n}_canvas", canvas),
                "det_in": w.arr(f"page_{n}_det_in", x), "scale": meta.scale, "in_size": list(meta.in_size),
                "spec": spec.to_metadata()}
        if det is not None:
            prob, box = det.run({det.input_names()[0]: x})[:2]
            found = formula_post.decode(prob[0], box[0], meta, spec)
            snapped = formula_post.snap_to_ink(found, np.asarray(img.convert("L")))
            case.update(prob=w.arr(f"page_{n}_prob", prob), box=w.arr(f"page_{n}_box", box),
                        boxes=[[*d.box, d.kind, d.score] for d in found],
                        snapped=[[*d.box, d.kind, d.score] for d in snapped])
        cases.append(case)
    # synthetic maps: cores of several sizes, touching, near the padding, under the thresholds
    r = np.random.default_rng(9)
    for n in range(3):
        h, w_ = 64, 96
        prob = np.zeros((2, h, w_), np.float32)
        box = (r.normal(1.0, 0.6, (4, h, w_))).astype(np.float32)
        for _ in range(14):
            y, x = int(r.integers(0, h - 3)), int(r.integers(0, w_ - 8))
            hh, ww = int(r.integers(1, 4)), int(r.integers(1, 9))
            prob[int(r.integers(0, 2)), y:y + hh, x:x + ww] = r.uniform(0.3, 1.0, (hh, ww))
        meta = formula_pre.PageMeta(0.4 + 0.3 * n, (2000, 1400), (w_ * 4 - 13, h * 4 - 9))
        clamp = n == 2  # the optional clamp of box edges to the core component
        found = formula_post.decode(prob, box, meta, spec, formula_post.DecodeConfig(clamp=clamp))
        cases.append({"name": f"fdec_{n}", "kind": "formula_decode", "clamp": clamp, "prob": w.arr(f"fdec_{n}_prob", prob),
                      "box": w.arr(f"fdec_{n}_box", box), "scale": meta.scale, "src_size": list(meta.src_size),
                      "in_size": list(meta.in_size), "spec": spec.to_metadata(),
                      "boxes": [[*d.box, d.kind, d.score] for d in found]})
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--models", type=Path, default=MODELS_DIR, help="folder with card_det/card_rec (.int8.onnx)")
    ap.add_argument("--no-formula-pages", action="store_true", help="skip the rendered formula pages (slow-ish)")
    args = ap.parse_args(argv)
    w = _Writer(args.out)
    have_card = (args.models / "card_det.int8.onnx").exists()
    reader = CardReader(args.models / "card_det.int8.onnx", args.models / "card_rec.int8.onnx") if have_card else None
    # the spec the shipped models carry (margins, field_shift), which the JS side reads from index.json
    card_spec = reader.spec if reader else card_pre.PreSpec()
    cases = decode_cases(w, card_spec)
    if reader:
        cases += card_cases(w, reader)
    else:
        print(f"golden: no card models in {args.models}, card image cases skipped", file=sys.stderr)
    if not args.no_formula_pages:
        cases += formula_cases(w, args.models)
    # the brand table (rules.py BRANDS), which rules.ts must hold too
    brands = [{"name": b.name, "ranges": [list(r) for r in b.ranges], "lengths": list(b.lengths),
               "groupings": {str(n): [list(g) for g in gs] for n, gs in b.groupings.items()}} for b in card_rules.BRANDS]
    (args.out / "index.json").write_text(json.dumps({"card_spec": card_spec.to_metadata(), "brands": brands,
                                                     "formula_spec": formula_pre.PreSpec().to_metadata(),
                                                     "cases": cases}, indent=1))
    print(f"golden: {len(cases)} cases in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
