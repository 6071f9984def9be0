"""Card post-processing, pure numpy: detector maps -> oriented fields; CTC output -> number and expiry.

The decoder never invents a number: it picks among the recogniser's own top candidates using the
Luhn and length rules, and returns None when even the best candidate is not confident enough.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..components import components
from .pre import DetMeta, FieldGeom, PreSpec
from .rules import luhn_valid, parse_expiry, plausible_number, printed_grouping

__all__ = [
    "DecodeConfig",
    "Detected",
    "NumberChoice",
    "PieceReading",
    "choose_expiry",
    "choose_expiry_among",
    "choose_number",
    "choose_number_lines",
    "choose_retried_number",
    "ctc_candidates",
    "ctc_greedy",
    "expiry_retries",
    "find_fields",
    "group_lines",
    "order_lines",
    "retry_expiries",
    "select_fields",
    "strongest_line",
    "zoom_region",
]


@dataclass(frozen=True)
class DecodeConfig:
    field_threshold: float = 0.5      # detector probability for a number-line cell
    expiry_threshold: float = 0.5     # ... for an expiry cell (the small field the detector is least sure of)
    min_cells: int = 3                # smaller blobs are noise
    min_field_score: float = 0.6      # mean probability of a kept component (scaled by the threshold / 0.5)
    max_substitutions: int = 2        # Luhn repair looks at most this many uncertain digits
    alt_ratio: float = 0.05           # a repaired number must be at least this likely relative to greedy
    # Below this the number is withheld (None), and a Luhn repair less likely than this too. With the v7
    # detector, 0.35 -> 0.45 withheld 18 wrong numbers and 6 right ones on 2 000 synthetic photos (v1 + v2);
    # 0.55 withheld 5 more wrong ones for 8 more right ones (docs/export.md).
    min_confidence: float = 0.45
    min_repair_confidence: float = 0.45
    review_confidence: float = 0.85   # below this, or after a repair, the result needs review
    max_number_pieces: int = 6        # a card prints the number in at most 4 lines; more blobs are noise
    # Up to two pieces this short at either end of a number line may be left out when the whole line cannot
    # be shown: a brand name, logo or the card edge beside the number read as digits ("17|4123 4123 ...").
    max_stray_chars: int = 3          # 0: never leave pieces out
    # A second read of a square crop around what the first pass marked, when the first is not sure of both
    # fields: a card far from the camera fills the crop and the detector sees it at its trained scale.
    # Below this an expiry is withheld: on 2 000 synthetic photos (versions 1 + 2, today's reader) raising it
    # from 0.3 to 0.5 withheld 77 wrong dates and 9 right ones (docs/export.md).
    min_expiry_confidence: float = 0.5
    zoom: bool = True
    zoom_threshold: float = 0.3       # cells of either field channel above this outline the card's print
    zoom_margin: float = 0.25         # added around that outline, as a fraction of its longer side, each way
    # No second read when the square is at least this share of the photo's long side: the card already fills
    # the frame (a re-read at nearly the same scale gained 1 pt of expiry on synthetic photos for a whole read).
    zoom_max_side: float = 0.85
    # A long field's reading direction from the axis of its cells (a weighted principal axis) rather than
    # the direction channels: median error 0.66 -> 0.23 degrees, and a 20-digit field tilted by 2 degrees
    # drifts a third of its height out of its crop at the ends. Only for blobs this elongated (the ratio of
    # the axis variances); the direction channels still say which way the text reads.
    axis_ratio: float = 4.0           # 0: never
    # An expiry field whose reading holds no date is read again from a crop at least this many field heights
    # long (pre.py `retry_geoms`; 0: never), and the retry's date is taken only from this confidence: on
    # synthetic versions 1 / 2, +2.9 / +2.1 pt expiry exact with no more wrong dates shown (docs/export.md).
    expiry_retry_length: float = 6.5
    expiry_retry_confidence: float = 0.8
    # An expiry field that still reads no date is read once more from a crop below it (pre.py `below_geoms`):
    # (field heights down to the crop's centre, the crop's height in field heights); (0, 0): never. Its date
    # is taken from `expiry_retry_confidence` as the longer crop's. The detector marks an "EXPIRES" label above
    # the date instead of the date on real cards (2 of 12); on 4 000 synthetic photos +2 dates, none wrong.
    expiry_below: tuple[float, float] = (1.8, 1.4)
    # When no number can be shown, the strongest number line (`strongest_line`) is read once more as one crop
    # over all its pieces, this many field heights longer at each end (pre.py `line_geom`; 0: never): the
    # detector's blob often covers part of the line, or splits it. Only a Luhn-valid reading, unrepaired, of at least this confidence is
    # taken (and flagged for review): +1.3 / +0.8 pt number exact on versions 1 / 2, +0 / +1 wrong numbers.
    number_retry_extend: float = 1.5
    number_retry_confidence: float = 0.6
    # When no read shows a number but one marked a number field, the photo is read again turned by each of these
    # angles (degrees, counter-clockwise on screen; pre.py `turned_canvases`). The detector learnt tilts up to 20
    # degrees and splits a number tilted further into pieces; a turned view is also a second look at any photo.
    # A turned number is shown only when `turn_votes` turned reads agree on it at `turn_confidence` or more, and
    # flagged for review: on 3 000 synthetic photos number exact 0.696 -> 0.716 for 4 more wrong numbers; on 400
    # tilted 20-35 degrees 0.50 -> 0.65 (docs/export.md). The surest single turned read, without agreement, showed
    # a wrong number for every 1.5 to 3 right ones.
    turn_angles: tuple[float, ...] = (6.0, -6.0, 15.0, -15.0, 30.0, -30.0)
    turn_confidence: float = 0.45
    turn_votes: int = 2


@dataclass(frozen=True)
class Detected:
    kind: str                          # "number" or "expiry"
    geom: FieldGeom                    # source pixels
    score: float


def find_fields(maps: np.ndarray, meta: DetMeta, spec: PreSpec, cfg: DecodeConfig = DecodeConfig()) -> list[Detected]:
    """Detector output (5, h, w) -> fields in source pixels.

    Channels: 0 number-line probability, 1 expiry probability, 2 field height / height_unit,
    3-4 reading direction (cos, sin).
    """
    out: list[Detected] = []
    stride = spec.det_stride
    for ch, kind in ((0, "number"), (1, "expiry")):
        prob = maps[ch]
        thr = cfg.field_threshold if kind == "number" else cfg.expiry_threshold
        for comp in components(prob > thr):
            if len(comp) < cfg.min_cells:
                continue
            rows, cols = comp[:, 0], comp[:, 1]
            p = prob[rows, cols]
            d = np.array([maps[3][rows, cols] @ p, maps[4][rows, cols] @ p])
            nrm = float(np.hypot(*d))
            ux, uy = (d / nrm) if nrm > 1e-6 else (1.0, 0.0)
            if cfg.axis_ratio > 0 and len(comp) >= 4:  # three cells say little about an axis
                ux, uy = _cell_axis(cols, rows, p, (ux, uy), cfg.axis_ratio)
            height = float(np.median(maps[2][rows, cols])) * spec.height_unit
            height = max(height, stride * 0.75)
            xy = np.stack([(cols + 0.5) * stride, (rows + 0.5) * stride], 1).astype(np.float64)
            across_all = xy @ np.array([-uy, ux])
            for part in split_stacked(across_all, p, height, stride):
                if len(part) < cfg.min_cells:
                    continue
                pp = p[part]
                score = float(pp.mean())
                if score < cfg.min_field_score * thr / 0.5:
                    continue
                along = xy[part] @ np.array([ux, uy])
                a0, a1 = along.min() - stride / 2, along.max() + stride / 2
                c_along, c_across = (a0 + a1) / 2, float(np.average(across_all[part], weights=pp))
                cx = c_along * ux - c_across * uy + spec.field_shift * stride
                cy = c_along * uy + c_across * ux + spec.field_shift * stride
                s = meta.scale
                out.append(Detected(kind, FieldGeom(cx / s, cy / s, float(ux), float(uy), (a1 - a0) / s, height / s),
                                    score))
    return out


def _cell_axis(cols: np.ndarray, rows: np.ndarray, p: np.ndarray, direction: tuple[float, float], ratio: float
               ) -> tuple[float, float]:
    """The principal axis of a blob's cells weighted by probability, pointing the way `direction` reads; the
    direction itself when the blob is not `ratio` times longer (in variance) than it is thick."""
    w = p.astype(np.float64)
    w = w / w.sum()
    x = cols - float(cols @ w)
    y = rows - float(rows @ w)
    sxx, syy, sxy = float((x * x) @ w), float((y * y) @ w), float((x * y) @ w)
    # the covariance's eigenvalues and axis in closed form, which the browser port computes the same way
    mean, half = (sxx + syy) / 2, math.hypot((sxx - syy) / 2, sxy)
    big, small = mean + half, mean - half
    if half <= 0 or big <= ratio * max(small, 1e-9):
        return direction
    angle = 0.5 * math.atan2(2 * sxy, sxx - syy)
    ax, ay = math.cos(angle), math.sin(angle)
    if ax * direction[0] + ay * direction[1] < 0:
        ax, ay = -ax, -ay
    return ax, ay


def select_fields(fields: list[Detected], cfg: DecodeConfig = DecodeConfig()
                  ) -> tuple[list[list[Detected]], list[Detected]]:
    """The fields a pass reads: number pieces as lines (`group_lines`), the `max_number_pieces` with the
    largest score x length only, and the three surest expiry fields (several dates may be printed: VALID
    FROM / THRU; `choose_expiry_among` picks)."""
    numbers = sorted((f for f in fields if f.kind == "number"), key=lambda f: -f.score * f.geom.length)
    expiries = sorted((f for f in fields if f.kind == "expiry"), key=lambda f: -f.score)[:3]
    return group_lines(numbers[: cfg.max_number_pieces]), expiries


def zoom_region(maps: np.ndarray, meta: DetMeta, spec: PreSpec, cfg: DecodeConfig = DecodeConfig()
                ) -> tuple[int, int, int, int] | None:
    """The square (x0, y0, x1, y1) in source pixels, possibly reaching past the photo's edges, around every
    detector cell of either field channel above `zoom_threshold`, widened by `zoom_margin` of its side each
    way; None when fewer than `min_cells` cells are marked or the square's side is `zoom_max_side` of the
    photo's long side or more."""
    mask = (maps[0] > cfg.zoom_threshold) | (maps[1] > cfg.zoom_threshold)
    if int(mask.sum()) < cfg.min_cells:
        return None
    rows, cols = np.nonzero(mask)
    cell = spec.det_stride / meta.scale
    x0, x1 = cols.min() * cell, (cols.max() + 1) * cell
    y0, y1 = rows.min() * cell, (rows.max() + 1) * cell
    side = max(x1 - x0, y1 - y0) * (1 + 2 * cfg.zoom_margin)
    if side >= cfg.zoom_max_side * max(meta.src_size):
        return None
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top, n = int(math.floor(cx - side / 2)), int(math.floor(cy - side / 2)), int(math.ceil(side))
    return left, top, left + n, top + n


def split_stacked(across: np.ndarray, p: np.ndarray, height: float, stride: int,
                  depth: float = 0.85) -> list[np.ndarray]:
    """Indices of the cells of each text line in one detector blob (across: cell centres across the text).

    Stacked layouts (two or four lines, some debit and vertical cards) print their lines a quarter to
    half a line apart, so at stride 4 the lines' blobs touch. A blob thicker than 1.9 line heights is cut
    at rows whose probability mass dips below `depth` of the fullest rows within a line height on both
    sides; the dip row itself belongs to neither line. A single line is never that thick, so it stays whole.
    """
    everything = [np.arange(len(across))]
    bins = np.floor((across - across.min()) / stride + 0.5).astype(np.int64)
    n = int(bins.max()) + 1
    span = height / stride  # one line height, in rows
    if n < 1.9 * span:
        return everything
    prof = np.bincount(bins, weights=p.astype(np.float64), minlength=n)
    reach = max(1, int(math.floor(span + 0.5)))
    cuts: list[int] = []
    for i in range(1, n - 1):
        if not (prof[i] <= prof[i - 1] and prof[i] <= prof[i + 1]):
            continue
        side = min(prof[max(0, i - reach):i].max(), prof[i + 1:i + 1 + reach].max())
        if (prof[i] < depth * side and i >= 0.6 * span and n - 1 - i >= 0.6 * span
                and (not cuts or i - cuts[-1] >= 0.9 * span)):
            cuts.append(i)
    if not cuts:
        return everything
    edges = [-1, *cuts, n]
    return [np.nonzero((bins > lo) & (bins < hi))[0] for lo, hi in itertools.pairwise(edges)]


def group_lines(fields: list[Detected]) -> list[list[Detected]]:
    """Number pieces grouped into text lines, top to bottom relative to the text, each left to right.

    The pieces share one reading direction, their mean weighted by length: a short stray piece read at
    another angle must not tilt it, or the halves of a tilted line fall into two lines, in reverse order
    (seen on synthetic photos: "45844469 24984488" shown for 2498 4488 4584 4469)."""
    if not fields:
        return []
    ux = sum(float(f.geom.ux) * f.geom.length for f in fields)  # in order, as the app's port sums
    uy = sum(float(f.geom.uy) * f.geom.length for f in fields)
    n = math.hypot(ux, uy) or 1.0
    ux, uy = ux / n, uy / n
    h = float(np.median([f.geom.height for f in fields]))
    keyed = sorted(fields, key=lambda f: f.geom.cx * -uy + f.geom.cy * ux)
    lines: list[list[Detected]] = []
    for f in keyed:
        across = f.geom.cx * -uy + f.geom.cy * ux
        if lines and abs(across - (lines[-1][0].geom.cx * -uy + lines[-1][0].geom.cy * ux)) < 0.6 * h:
            lines[-1].append(f)
        else:
            lines.append([f])
    return [sorted(line, key=lambda f: f.geom.cx * ux + f.geom.cy * uy) for line in lines]


def order_lines(fields: list[Detected]) -> list[Detected]:
    """Number pieces in reading order: lines top to bottom (relative to the text), pieces left to right."""
    return [f for line in group_lines(fields) for f in line]


@dataclass(frozen=True, eq=False)  # compared by identity: it holds numpy arrays
class PieceReading:
    """One detected number piece and what the recogniser read in it."""

    det: Detected
    text: str
    confs: list[float]
    dists: list[np.ndarray]


def choose_number_lines(lines: list[list[PieceReading]], vocab: str, cfg: DecodeConfig = DecodeConfig(),
                        max_stack: int = 4) -> tuple[NumberChoice, list[PieceReading]]:
    """Pick the number among runs of 1..max_stack consecutive lines (stacked layouts print 2-4 lines).

    The detector may also mark a name, a small printed IIN or a receipt line as "number"; reading each
    run separately and ranking (shown > withheld, then Luhn-valid unrepaired, then fewer lines, then
    repaired > sure but not Luhn-valid, then detector score x confidence) keeps such pieces out of the
    number instead of withholding it. Within a run, up to two short pieces (`max_stray_chars`) at the start of its first
    line and the end of its last may be left out, ranked after Luhn: a Luhn-valid reading without a stray
    "17" beats the sure but invalid reading with it, and otherwise fewer pieces left out come first
    (1 000 + 1 000 synthetic photos: number exact +0.9 / +0.7 pt, two fewer wrong numbers shown; ranked
    before Luhn instead, +0.8 / +0.5 pt and one more wrong number).

    Luhn comes before fewer lines: a number printed over two or more lines (a 19-digit number's last three
    digits, a vertical card's four lines of four) has first lines that a sure read shows as a specimen
    number, Luhn-invalid but of a plausible length, and that must not beat the whole, Luhn-valid number
    (3 000 synthetic photos: 9 more right numbers and 9 fewer wrong ones, none lost; docs/export.md). Only
    an unrepaired Luhn-valid reading counts, so a specimen number read with confidence on one line still
    beats that line plus a stray piece that a one-digit repair makes Luhn-valid (seen on the real
    development set: a sure 16-digit line and a small "4000" under it merged into a wrong 19-digit number).
    Two Luhn-valid readings rank first by whether their pieces are a grouping their brand prints
    (`printed_grouping`: 4-4-4-6 for an 18-digit Maestro number, where its last three lines alone, Luhn-valid
    by chance, are 4-4-6 of no brand; 3 more right numbers of 3 000, none lost), then by fewer lines, as before;
    so a number read whole on one line still beats itself plus a stray piece, unless only the longer reading is
    a grouping its brand prints.
    """
    best: tuple | None = None
    for i in range(len(lines)):
        for j in range(i + 1, min(len(lines), i + max_stack) + 1):
            run = [p for line in lines[i:j] for p in line]
            for a, b in _stray_options(run, len(lines[i]), len(lines[j - 1]), cfg.max_stray_chars):
                pieces = run[a:len(run) - b]
                text = "".join(p.text for p in pieces)
                confs = [c for p in pieces for c in p.confs]
                dists = [d for p in pieces for d in p.dists]
                choice = choose_number(text, confs, dists, vocab, cfg)
                score = float(np.mean([p.det.score for p in pieces])) * choice.confidence
                shown = choice.number is not None
                luhn_ok = shown and not choice.repaired and luhn_valid(choice.number or "")
                grouped = luhn_ok and printed_grouping(choice.number or "", tuple(len(p.text) for p in pieces))
                key = (shown, luhn_ok, grouped, -(j - i), -(a + b), shown and choice.repaired, score)
                if best is None or key > best[0]:
                    best = (key, choice, pieces)
    if best is None:
        return NumberChoice(None, 0.0, False, True), []
    return best[1], best[2]


def _stray_options(run: list[PieceReading], first: int, last: int, max_chars: int) -> list[tuple[int, int]]:
    """(pieces left out at the start, at the end) of a run of lines whose first line has `first` pieces and
    last line `last`: (0, 0), then up to two pieces each end, all of at most `max_chars` characters."""
    out = [(0, 0)]
    if max_chars <= 0:
        return out
    for a in range(min(first, 3)):
        for b in range(min(last, 3)):
            if (a or b) and a + b < len(run) and all(
                    len(p.text) <= max_chars for p in run[:a] + run[len(run) - b:]):
                out.append((a, b))
    return out


def ctc_greedy(probs: np.ndarray, vocab: str) -> tuple[str, list[float], list[np.ndarray]]:
    """Best-path CTC decode of (T, C) probabilities (class 0 = blank).

    Returns the text, the probability of each emitted character, and for each emitted character the
    class distribution at its most confident frame (used to propose substitutions).
    """
    best = probs.argmax(1)
    text, confs, dists = [], [], []
    prev = 0
    for t, k in enumerate(best):
        if k != 0 and k != prev:
            text.append(vocab[k - 1])
            confs.append(float(probs[t, k]))
            dists.append(probs[t])
        elif k != 0 and k == prev and probs[t, k] > confs[-1]:
            confs[-1], dists[-1] = float(probs[t, k]), probs[t]
        prev = k
    return "".join(text), confs, dists


def ctc_candidates(text: str, confs: list[float], dists: list[np.ndarray], vocab: str, max_subs: int,
                   limit: int = 64) -> list[tuple[str, float]]:
    """Greedy text plus variants with up to `max_subs` substitutions at the least certain characters,
    each with its probability relative to the greedy text (1.0 for greedy), most likely first."""
    if not text:
        return []
    order = np.argsort(confs)[: max(1, min(len(confs), 6))]
    options = []  # per uncertain position: list of (char, ratio)
    for i in order:
        dist = dists[i]
        alts = []
        for k in np.argsort(dist)[::-1][:3]:
            if k == 0 or vocab[k - 1] == text[i]:
                continue
            alts.append((vocab[k - 1], float(dist[k]) / max(confs[i], 1e-9)))
        options.append((int(i), alts))
    cands = {text: 1.0}
    frontier = [(-1.0, text, 0, 0)]
    while frontier and len(cands) < limit:
        neg, t, start, nsub = heapq.heappop(frontier)
        if nsub >= max_subs:
            continue
        for j in range(start, len(options)):
            pos, alts = options[j]
            for ch, ratio in alts:
                nt = t[:pos] + ch + t[pos + 1:]
                score = -neg * ratio
                if nt not in cands and score > 1e-4:
                    cands[nt] = score
                    heapq.heappush(frontier, (-score, nt, j + 1, nsub + 1))
    return sorted(cands.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class NumberChoice:
    number: str | None
    confidence: float
    repaired: bool
    needs_review: bool


def choose_number(text: str, confs: list[float], dists: list[np.ndarray], vocab: str,
                  cfg: DecodeConfig = DecodeConfig()) -> NumberChoice:
    """Pick the number from the recogniser's candidates with the Luhn and length rules."""
    digits = "".join(ch for ch in text if ch.isdigit())
    keep = [i for i, ch in enumerate(text) if ch.isdigit()]
    confs = [confs[i] for i in keep]
    dists = [dists[i] for i in keep]
    if not digits:
        return NumberChoice(None, 0.0, False, True)
    conf = float(min(confs))
    if luhn_valid(digits) and plausible_number(digits):
        ok = conf >= cfg.min_confidence
        return NumberChoice(digits if ok else None, conf, False, conf < cfg.review_confidence or not ok)
    for cand, ratio in ctc_candidates(digits, confs, dists, vocab, cfg.max_substitutions)[1:]:
        if ratio < cfg.alt_ratio:
            break
        if cand.isdigit() and luhn_valid(cand) and plausible_number(cand):
            # Never invent a number: most repairs this unsure are wrong (docs/export.md), and the
            # Luhn-invalid greedy reading beside a Luhn-valid rival is no safer to show.
            shown = conf * ratio >= cfg.min_repair_confidence
            return NumberChoice(cand if shown else None, conf * ratio, shown, True)
    # No Luhn-valid reading nearby: specimen and test cards print such numbers, so show it only when
    # the recogniser is sure of every digit and it could be a card number (a length its brand prints, no
    # leading 0): a sure 15-digit "4..." is a Visa number with a digit lost, not a specimen.
    sure = conf >= cfg.review_confidence and plausible_number(digits)
    return NumberChoice(digits if sure else None, conf, False, True)


def choose_expiry(text: str, confs: list[float]) -> tuple[str | None, float]:
    """Normalise the recognised expiry to MM/YY, or None.

    A field box often takes in the end of its label ("THRU 09/27" read as "109/27"), so the date is the
    two digits either side of a slash; confidence covers those five characters only.
    """
    value = parse_expiry(text)
    if value is not None:
        return value, (float(min(confs)) if confs else 0.0)
    for i in range(len(text) - 3, 1, -1):  # the last slash with two digits on each side
        if text[i] == "/" and i + 3 <= len(text):
            value = parse_expiry(text[i - 2:i + 3])
            if value is not None:
                return value, float(min(confs[i - 2:i + 3]))
    return None, 0.0


def choose_expiry_among(expiry_fields: list[PieceReading], other_pieces: list[PieceReading],
                        min_confidence: float = 0.0) -> tuple[str | None, float, PieceReading | None]:
    """The expiry among the dates read on the card.

    Fields the detector calls "expiry" come first; pieces it called "number" but that read as a
    slashed MM/YY (a date it mislabelled) are the fallback. Among several valid dates the latest wins:
    VALID FROM and MEMBER SINCE dates always precede the expiry. A date read below `min_confidence` is
    not a date (`DecodeConfig.min_expiry_confidence`).
    """
    for group, need_slash in ((expiry_fields, False), (other_pieces, True)):
        dates = []
        for p in group:
            value, conf = choose_expiry(p.text, p.confs)
            if value is not None and conf >= min_confidence and (not need_slash or "/" in p.text):
                dates.append(((value[3:], value[:2]), value, conf, p))
        if dates:
            _, value, conf, piece = max(dates, key=lambda d: d[0])
            return value, conf, piece
    return None, 0.0, None


def expiry_retries(readings: list[PieceReading], cfg: DecodeConfig = DecodeConfig()) -> list[int]:
    """Which expiry fields to read again from a longer crop: those whose reading holds no MM/YY date."""
    if cfg.expiry_retry_length <= 0:
        return []
    return [i for i, r in enumerate(readings) if choose_expiry(r.text, r.confs)[0] is None]


def retry_expiries(readings: list[PieceReading], retried: dict[int, PieceReading],
                   cfg: DecodeConfig = DecodeConfig()) -> list[PieceReading]:
    """The expiry readings with each retried field's second reading in place of the first where it holds a
    date read with at least `expiry_retry_confidence` (a longer crop takes in more print, and more chances
    to read a wrong date in it, so its date must be surer than a first reading's)."""
    out = list(readings)
    for i, again in retried.items():
        value, conf = choose_expiry(again.text, again.confs)
        if value is not None and conf >= cfg.expiry_retry_confidence:
            out[i] = again
    return out


def strongest_line(lines: list[list[Detected]]) -> int:
    """The index of the number line with the most detector evidence: the sum of its pieces' score x length."""
    return max(range(len(lines)), key=lambda i: (sum(f.score * f.geom.length for f in lines[i]), -i))


def choose_retried_number(readings: list[PieceReading], vocab: str, cfg: DecodeConfig = DecodeConfig()
                          ) -> tuple[NumberChoice, int] | None:
    """The number among the whole-line second readings, and which line: the most confident reading that is
    Luhn-valid and of a possible length as read (a repair in a crop this long is too likely to be a
    wrong number) at `number_retry_confidence` or more; None when there is none. Always flagged for review."""
    best: tuple[NumberChoice, int] | None = None
    for i, r in enumerate(readings):
        choice = choose_number(r.text, r.confs, r.dists, vocab, cfg)
        if (choice.number is not None and not choice.repaired and luhn_valid(choice.number)
                and choice.confidence >= cfg.number_retry_confidence
                and (best is None or choice.confidence > best[0].confidence)):
            best = (NumberChoice(choice.number, choice.confidence, False, True), i)
    return best
