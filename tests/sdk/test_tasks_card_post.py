"""Post-processing on hand-made detector maps and CTC outputs (no model needed)."""

from dataclasses import replace

import numpy as np
import pytest
from pocketocr.tasks.card.post import (
    DecodeConfig,
    Detected,
    choose_expiry,
    choose_number,
    ctc_candidates,
    ctc_greedy,
    find_fields,
    order_lines,
)
from pocketocr.tasks.card.pre import DetMeta, FieldGeom, PreSpec

SPEC = PreSpec()
VOCAB = SPEC.vocab


def _probs(text: str, frames_per_char: int = 3, conf: float = 0.98, swap: dict | None = None) -> np.ndarray:
    """(T, C) CTC probabilities spelling `text` with blanks between characters."""
    rows = []
    for i, ch in enumerate(text):
        for _ in range(frames_per_char):
            p = np.full(len(VOCAB) + 1, (1 - conf) / len(VOCAB))
            p[VOCAB.index(ch) + 1] = conf
            if swap and i in swap:  # an uncertain character with a runner-up
                alt, alt_p = swap[i]
                p[:] = (1 - conf - alt_p) / (len(VOCAB) - 1)
                p[VOCAB.index(ch) + 1] = conf
                p[VOCAB.index(alt) + 1] = alt_p
            rows.append(p)
        blank = np.full(len(VOCAB) + 1, 0.01 / len(VOCAB))
        blank[0] = 0.99
        rows.append(blank)
    return np.asarray(rows, np.float32)


def test_ctc_greedy_reads_repeated_digits():
    text, confs, _ = ctc_greedy(_probs("4111111111111111"), VOCAB)
    assert text == "4111111111111111"
    assert len(confs) == 16 and min(confs) > 0.9


def test_valid_number_is_kept():
    choice = choose_number(*ctc_greedy(_probs("4111111111111111"), VOCAB), VOCAB)
    assert choice.number == "4111111111111111" and not choice.repaired and not choice.needs_review


def test_luhn_repair_uses_the_runner_up():
    # position 5 was read as '7' with a strong runner-up '1': the Luhn-valid reading wins, flagged for review
    p = _probs("4111171111111111", swap={5: ("1", 0.47)}, conf=0.5)
    choice = choose_number(*ctc_greedy(p, VOCAB), VOCAB)
    assert choice.number == "4111111111111111"
    assert choice.repaired and choice.needs_review


def test_unsure_luhn_repair_is_withheld():
    # '7' at 0.55 with a weak runner-up '1' at 0.08: the repair is 0.08 likely, too unsure to show,
    # and the Luhn-invalid greedy reading is not shown either
    p = _probs("4111171111111111", swap={5: ("1", 0.08)}, conf=0.55)
    choice = choose_number(*ctc_greedy(p, VOCAB), VOCAB)
    assert choice.number is None and not choice.repaired and choice.needs_review
    assert 0 < choice.confidence < DecodeConfig().min_repair_confidence
    loose = choose_number(*ctc_greedy(p, VOCAB), VOCAB, DecodeConfig(min_repair_confidence=0.0))
    assert loose.number == "4111111111111111" and loose.repaired


def test_no_invented_number_when_unsure():
    # non-Luhn, no plausible candidate, low confidence -> withheld
    p = _probs("4111171111111111", conf=0.5)
    choice = choose_number(*ctc_greedy(p, VOCAB), VOCAB)
    assert choice.number is None and choice.needs_review


def test_confident_specimen_number_is_shown_but_flagged():
    p = _probs("4000123456789011", conf=0.99)  # not Luhn-valid, read with certainty
    choice = choose_number(*ctc_greedy(p, VOCAB), VOCAB)
    assert choice.number == "4000123456789011" and choice.needs_review


def test_candidates_are_ranked():
    p = _probs("4111171111111111", swap={5: ("1", 0.3)}, conf=0.6)
    cands = ctc_candidates(*ctc_greedy(p, VOCAB), VOCAB, max_subs=2)
    assert cands[0] == ("4111171111111111", 1.0)
    assert "4111111111111111" in dict(cands)


def test_expiry():
    assert choose_expiry("09/27", [0.9] * 5) == ("09/27", 0.9)
    assert choose_expiry("19/27", [0.9] * 5)[0] is None


def _maps(boxes: dict[int, list[tuple[int, int, int, int]]], height_px: float = 12.0) -> np.ndarray:
    n = SPEC.det_size // SPEC.det_stride
    m = np.zeros((5, n, n), np.float32)
    for ch, rects in boxes.items():
        for r0, c0, r1, c1 in rects:
            m[ch, r0:r1, c0:c1] = 0.95
            m[2, r0:r1, c0:c1] = height_px / SPEC.height_unit
            m[3, r0:r1, c0:c1] = 1.0
    return m


def test_find_fields_maps_back_to_source_pixels():
    maps = _maps({0: [(40, 10, 43, 80)], 1: [(50, 40, 52, 55)]})
    meta = DetMeta(scale=0.5, src_size=(768, 500))  # source was 2x the detector input
    fields = find_fields(maps, meta, SPEC)
    num = next(f for f in fields if f.kind == "number")
    exp = next(f for f in fields if f.kind == "expiry")
    # number cells 10..79 at stride 4 -> x 40..320 in input pixels -> 80..640 in source pixels, moved
    # right and down by half a cell (the spec's field_shift: 2 input pixels, 4 source pixels)
    assert num.geom.box()[0] == pytest.approx(80 + 4, abs=1)
    assert num.geom.length == pytest.approx(280 * 2, abs=1)
    assert num.geom.height == pytest.approx(24, abs=0.5)
    assert num.geom.cy == pytest.approx(((40 + 42) / 2 + 0.5) * 4 * 2 + 4, abs=1)
    assert exp.geom.length < num.geom.length
    unshifted = next(f for f in find_fields(maps, meta, replace(SPEC, field_shift=0.0)) if f.kind == "number")
    assert (num.geom.cx - unshifted.geom.cx, num.geom.cy - unshifted.geom.cy) == pytest.approx((4, 4))


def _tilted_line(degrees: float, reads: tuple[float, float] = (1.0, 0.0)) -> np.ndarray:
    """A 70-cell, 3-cell-thick number line tilted by `degrees`, whose direction channels say `reads`."""
    n = SPEC.det_size // SPEC.det_stride
    m = np.zeros((5, n, n), np.float32)
    t = np.tan(np.radians(degrees))
    for c in range(10, 80):
        r = int(round(40 + (c - 10) * t))
        m[0, r - 1:r + 2, c] = 0.95
        m[2, r - 1:r + 2, c] = 12.0 / SPEC.height_unit
        m[3, r - 1:r + 2, c], m[4, r - 1:r + 2, c] = reads
    return m


def test_a_long_field_reads_along_the_axis_of_its_cells():
    """The direction channels are a few degrees off on long fields; the axis of the blob is not (axis_ratio)."""
    meta = DetMeta(1.0, (384, 384))
    (f,) = find_fields(_tilted_line(8.0), meta, SPEC)
    assert np.degrees(np.arctan2(f.geom.uy, f.geom.ux)) == pytest.approx(8.0, abs=0.5)
    (off,) = find_fields(_tilted_line(8.0), meta, SPEC, DecodeConfig(axis_ratio=0.0))
    assert (off.geom.ux, off.geom.uy) == pytest.approx((1.0, 0.0))
    # the channels still say which way the text reads (an upside-down card reads right to left)
    (back,) = find_fields(_tilted_line(8.0, reads=(-1.0, 0.0)), meta, SPEC)
    assert np.degrees(np.arctan2(back.geom.uy, back.geom.ux)) == pytest.approx(8.0 - 180.0, abs=0.5)
    # a blob barely longer than thick keeps the channels' direction
    square = _maps({0: [(40, 10, 44, 13)]})
    square[4, 40:44, 10:13] = 0.2
    (sq,) = find_fields(square, meta, SPEC)
    assert np.degrees(np.arctan2(sq.geom.uy, sq.geom.ux)) == pytest.approx(np.degrees(np.arctan2(0.2, 1.0)), abs=0.1)


def test_stacked_lines_that_touch_are_split():
    """Four number lines printed a quarter line apart merge at stride 4; each must become its own field."""
    maps = _maps({0: [(20 + 4 * i, 10, 23 + 4 * i, 40) for i in range(4)]}, height_px=12)
    for i in range(3):  # the gap rows: weaker and shorter, so the four lines form one blob
        maps[0, 23 + 4 * i, 14:36] = 0.6
    meta = DetMeta(1.0, (384, 384))
    fields = find_fields(maps, meta, SPEC)
    assert len(fields) == 4
    assert [round(f.geom.cy) for f in order_lines(fields)] == [(20 + 4 * i + 1 + 0.5) * 4 + 2 for i in range(4)]
    # a thick single line with a shallow dip is not cut
    one = _maps({0: [(20, 10, 28, 40)]}, height_px=12)
    one[0, 24, 10:40] = 0.9
    assert len(find_fields(one, meta, SPEC)) == 1


def test_small_blobs_are_ignored():
    maps = _maps({0: [(40, 10, 41, 12)]})
    assert find_fields(maps, DetMeta(1.0, (384, 384)), SPEC, DecodeConfig(min_cells=3)) == []


def test_order_lines_reads_top_to_bottom_then_left_to_right():
    def d(cx, cy):
        return Detected("number", FieldGeom(cx, cy, 1.0, 0.0, 40, 10), 0.9)
    fields = [d(100, 50), d(20, 20), d(100, 20), d(20, 50)]
    order = [(f.geom.cx, f.geom.cy) for f in order_lines(fields)]
    assert order == [(20, 20), (100, 20), (20, 50), (100, 50)]


def test_expiry_inside_label_text():
    assert choose_expiry("109/38", [0.9, 0.8, 0.9, 0.9, 0.9, 0.7]) == ("09/38", 0.7)
    assert choose_expiry("012/38", [0.5] + [0.9] * 5) == ("12/38", 0.9)
    assert choose_expiry("1999", [0.9] * 4) == (None, 0.0)


def _reading(text, score=0.9, conf=0.99, cx=0.0, cy=0.0):
    from pocketocr.tasks.card.post import PieceReading
    det = Detected("number", FieldGeom(cx, cy, 1.0, 0.0, 40, 10), score)
    dists = []
    for ch in text:
        p = np.full(len(VOCAB) + 1, (1 - conf) / len(VOCAB))
        p[VOCAB.index(ch) + 1] = conf
        dists.append(p)
    return PieceReading(det, text, [conf] * len(text), dists)


def test_number_ignores_a_stray_piece_and_stacks_lines():
    from pocketocr.tasks.card.post import choose_number_lines
    # a name line read as digits above the real number line: the valid single line wins
    lines = [[_reading("12345")], [_reading("4111111111111111")]]
    choice, used = choose_number_lines(lines, VOCAB)
    assert choice.number == "4111111111111111" and [p.text for p in used] == ["4111111111111111"]
    # four stacked lines of four digits (as printed on some debit cards)
    stacked = [[_reading("4242")], [_reading("4242")], [_reading("4242")], [_reading("4242")]]
    choice, used = choose_number_lines(stacked, VOCAB)
    assert choice.number == "4242424242424242" and len(used) == 4


def test_a_sure_line_beats_a_repaired_merge_with_a_stray_piece():
    """A specimen number (not Luhn-valid) read surely on one line, and a small piece under it whose merge
    with the line a one-digit repair would make Luhn-valid: the single line is the number."""
    from pocketocr.tasks.card.post import PieceReading, choose_number_lines
    from pocketocr.tasks.card.rules import luhn_valid

    line = "4000123456789011"
    assert not luhn_valid(line)
    check = next(d for d in "0123456789" if luhn_valid(line + "48" + d))
    wrong = str((int(check) + 1) % 10)
    stray = _reading("48" + wrong)
    # the last digit of the stray piece is unsure, with the Luhn-completing digit as runner-up
    dist = np.full(len(VOCAB) + 1, 0.01)
    dist[VOCAB.index(wrong) + 1], dist[VOCAB.index(check) + 1] = 0.5, 0.4
    stray = PieceReading(stray.det, stray.text, stray.confs[:2] + [0.5], stray.dists[:2] + [dist])
    choice, used = choose_number_lines([[_reading(line)], [stray]], VOCAB)
    assert choice.number == line and not choice.repaired and [p.text for p in used] == [line]


def test_a_number_over_several_lines_beats_its_first_lines_read_as_a_specimen():
    """A number printed over lines (19 digits as 16 + 3; a vertical card's 4 x 4): its first lines, read surely,
    are a Luhn-invalid number of a plausible length, shown as a specimen on their own; the whole Luhn-valid
    number wins. Seen on synthetic photos, where the first 16 digits were shown instead of all 19."""
    from pocketocr.tasks.card.post import choose_number_lines
    from pocketocr.tasks.card.rules import luhn_valid, plausible_number

    number = "3533251393872563822"  # a JCB number of 19 digits
    assert luhn_valid(number) and not luhn_valid(number[:16]) and plausible_number(number[:16])
    choice, used = choose_number_lines([[_reading(number[:16])], [_reading(number[16:])]], VOCAB)
    assert choice.number == number and not choice.repaired and len(used) == 2
    vertical = "816089323093628500"  # four lines, the last three a plausible, Luhn-invalid 14 digits
    assert luhn_valid(vertical) and not luhn_valid(vertical[4:]) and plausible_number(vertical[4:])
    lines = [[_reading(vertical[:4])], [_reading(vertical[4:8])], [_reading(vertical[8:12])], [_reading(vertical[12:])]]
    choice, used = choose_number_lines(lines, VOCAB)
    assert choice.number == vertical and len(used) == 4
    # two Luhn-valid readings: the one in its brand's printed grouping wins (4-4-4-6 for this 18-digit Maestro
    # number; its last three lines, 4-4-6, are Luhn-valid by chance and of no brand)
    maestro = "630498576360818100"
    assert luhn_valid(maestro[4:]) and plausible_number(maestro[4:])
    lines = [[_reading(maestro[:4])], [_reading(maestro[4:8])], [_reading(maestro[8:12])], [_reading(maestro[12:])]]
    choice, used = choose_number_lines(lines, VOCAB)
    assert choice.number == maestro and len(used) == 4
    # otherwise fewer lines still win (a valid 16-digit line and a stray line under it)
    line = "4111111111111111"
    stray = next(f"{k:03d}" for k in range(1000) if luhn_valid(line + f"{k:03d}"))
    choice, used = choose_number_lines([[_reading(line)], [_reading(stray)]], VOCAB)
    assert choice.number == line and len(used) == 1


def test_short_stray_pieces_at_a_line_end_are_left_out():
    """A brand name or logo beside the number read as a short piece: the line cannot be shown whole, so the
    number is the line without it; a whole line that can be shown keeps every piece; a piece longer than
    max_stray_chars is never left out; max_stray_chars = 0 turns it off."""
    from dataclasses import replace

    from pocketocr.tasks.card.post import DecodeConfig, choose_number_lines

    number = "4012888888881881"
    choice, used = choose_number_lines([[_reading("17"), _reading(number)]], VOCAB)
    assert choice.number == number and [p.text for p in used] == [number]
    groups = [_reading(number[k:k + 4]) for k in range(0, 16, 4)]
    choice, used = choose_number_lines([groups + [_reading("38")]], VOCAB)
    assert choice.number == number and len(used) == 4
    choice, _ = choose_number_lines([[_reading(number), _reading("1234")]], VOCAB)
    assert choice.number is None
    # off, the sure but Luhn-invalid whole line is shown, stray digits and all (the decoder before max_stray_chars)
    choice, _ = choose_number_lines([[_reading("17"), _reading(number)]], VOCAB, replace(DecodeConfig(), max_stray_chars=0))
    assert choice.number == "17" + number
    # a Luhn-valid line whose last piece is short keeps it
    choice, used = choose_number_lines([[_reading(number[:15]), _reading(number[15:])]], VOCAB)
    assert len(used) == 2 and choice.number == number
    # a sure but Luhn-invalid whole line loses to the Luhn-valid line without its stray piece
    choice, used = choose_number_lines([[_reading("4111111111111111"), _reading("0")]], VOCAB)
    assert choice.number == "4111111111111111" and len(used) == 1


def test_latest_date_is_the_expiry():
    from pocketocr.tasks.card.post import choose_expiry_among
    value, _, _piece = choose_expiry_among([_reading("09/18"), _reading("09/21")], [])
    assert value == "09/21"
    # a date the detector mislabelled as number is the fallback
    value, _, _ = choose_expiry_among([], [_reading("12/27"), _reading("1234")])
    assert value == "12/27"


def test_unsure_dates_are_not_dates():
    from pocketocr.tasks.card.post import choose_expiry_among
    unsure = _reading("09/27", conf=0.45)
    limit = DecodeConfig().min_expiry_confidence
    assert limit == 0.5
    value, conf, _ = choose_expiry_among([unsure], [], min_confidence=limit)
    assert value is None and conf == 0.0
    # an unsure later date does not win over a sure earlier one
    value, _, _ = choose_expiry_among([_reading("09/24"), unsure], [], min_confidence=limit)
    assert value == "09/24"
    assert choose_expiry_among([unsure], [])[0] == "09/27"  # the threshold is the caller's (0: off)


def _maps_with_blob(h=96, w=96, rows=slice(40, 44), cols=slice(30, 60), value=0.9):
    maps = np.zeros((5, h, w), np.float32)
    maps[0, rows, cols] = value
    return maps


def test_zoom_region_is_a_square_around_the_marked_cells():
    from pocketocr.tasks.card.post import zoom_region
    meta = DetMeta(scale=384 / 1600, src_size=(1600, 1200))
    cfg = DecodeConfig()
    x0, y0, x1, y1 = zoom_region(_maps_with_blob(), meta, SPEC, cfg)
    cell = SPEC.det_stride / meta.scale                 # 16.67 source pixels per detector cell
    side = 30 * cell * (1 + 2 * cfg.zoom_margin)        # the blob is 30 cells wide, 4 tall
    assert x1 - x0 == y1 - y0 == int(np.ceil(side))
    assert abs((x0 + x1) / 2 - 45 * cell) <= 1 and abs((y0 + y1) / 2 - 42 * cell) <= 1
    # the expiry channel counts too; number cells at the threshold do not
    maps = _maps_with_blob(value=cfg.zoom_threshold)
    maps[1, 10:12, 20:22] = 0.8
    x0, y0, x1, y1 = zoom_region(maps, meta, SPEC, cfg)
    assert (x0 + x1) / 2 == pytest.approx(21 * cell, abs=1) and (y0 + y1) / 2 == pytest.approx(11 * cell, abs=1)
    assert x1 - x0 == int(np.ceil(2 * cell * (1 + 2 * cfg.zoom_margin)))


def test_zoom_region_none_when_nothing_or_everything_is_marked():
    from pocketocr.tasks.card.post import zoom_region
    meta = DetMeta(scale=384 / 1600, src_size=(1600, 1200))
    assert zoom_region(np.zeros((5, 96, 96), np.float32), meta, SPEC) is None
    assert zoom_region(_maps_with_blob(rows=slice(40, 41), cols=slice(30, 32)), meta, SPEC) is None  # 2 < min_cells
    # a print as wide as the photo: the square would not be smaller than the photo
    assert zoom_region(_maps_with_blob(cols=slice(2, 94)), meta, SPEC) is None
    # a square of 0.94 of the photo's side is hardly a zoom: no second read unless zoom_max_side allows it
    from dataclasses import replace
    wide = _maps_with_blob(cols=slice(10, 70))
    assert zoom_region(wide, meta, SPEC) is None
    assert zoom_region(wide, meta, SPEC, replace(DecodeConfig(), zoom_max_side=1.0)) is not None


def test_an_expiry_that_reads_no_date_is_read_again_from_a_longer_crop():
    from dataclasses import replace

    from pocketocr.tasks.card.post import expiry_retries, retry_expiries
    from pocketocr.tasks.card.pre import read_geoms, retry_geoms

    cfg = DecodeConfig()
    short, long = FieldGeom(100, 50, 1.0, 0.0, 20, 10), FieldGeom(100, 50, 1.0, 0.0, 90, 10)
    margins = 2 * (SPEC.expiry_pad_x - SPEC.pad_x) * 10
    # the blob covered only part of the date: the retry reaches 6.5 heights about its centre, plus the margins
    assert [g.length for g in retry_geoms([short, long], SPEC, cfg.expiry_retry_length)] == pytest.approx(
        [65 + margins, 90 + margins])
    assert retry_geoms([short], SPEC, 0.0) == read_geoms([], [short], SPEC)
    assert retry_geoms([short], SPEC, 6.5)[0].cx == short.cx

    def reading(text, conf):
        r = _reading(text, conf=conf)
        return replace(r, det=replace(r.det, kind="expiry"))

    first = [reading("/27", 0.9), reading("06/27", 0.9), reading("1999", 0.9)]
    assert expiry_retries(first, cfg) == [0, 2]
    assert expiry_retries(first, DecodeConfig(expiry_retry_length=0.0)) == []
    # a longer crop takes in more print: its date counts only from expiry_retry_confidence
    sure, unsure = reading("06/27", 0.95), reading("11/29", 0.6)
    out = retry_expiries(first, {0: sure, 2: unsure}, cfg)
    assert out[0] is sure and out[1] is first[1] and out[2] is first[2]
    assert retry_expiries(first, {0: reading("7", 0.99)}, cfg)[0] is first[0]  # still no date


def test_the_crop_below_an_expiry_field_sits_under_it_along_its_own_tilt():
    from pocketocr.tasks.card.pre import below_geoms, read_geoms

    margins = 2 * (SPEC.expiry_pad_x - SPEC.pad_x)
    level = FieldGeom(100, 50, 1.0, 0.0, 20, 10)
    (g,) = below_geoms([level], SPEC, 1.8, 1.4, 6.5)
    assert (g.cx, g.cy, g.height) == pytest.approx((100, 68, 14))  # 1.8 heights down, 1.4 heights tall
    assert g.length == pytest.approx(65 + margins * 14)  # as long as the longer retry, with the date's margins
    # a field turned 30 degrees: "down" is across its reading direction, not the photo's y axis
    ux, uy = np.cos(np.radians(30)), np.sin(np.radians(30))
    (t,) = below_geoms([FieldGeom(100, 50, ux, uy, 20, 10)], SPEC, 2.0, 1.0, 0.0)
    assert (t.cx, t.cy) == pytest.approx((100 - 20 * uy, 50 + 20 * ux))
    assert below_geoms([level], SPEC, 0.0, 1.0, 0.0) == read_geoms([], [level], SPEC)


def test_a_line_with_no_number_is_read_again_as_one_longer_crop():
    from pocketocr.tasks.card.post import choose_retried_number
    from pocketocr.tasks.card.pre import line_geom

    # two pieces of a horizontal line (a split blob): one field over both, 1.5 heights longer at each end
    a, b = FieldGeom(100, 50, 1.0, 0.0, 80, 10), FieldGeom(200, 52, 1.0, 0.0, 60, 12)
    g = line_geom([a, b], 1.5)
    assert (g.cx, g.cy, g.length, g.height) == pytest.approx(((60 + 230) / 2, 51, 230 - 60 + 2 * 1.5 * 11, 11))
    assert line_geom([a], 0.0) == a
    # a short first piece read 25 degrees off (a real card's "30" of "3023 ...") does not tilt the line
    t = np.radians(25.0)
    short = FieldGeom(40, 50, float(np.cos(t)), float(np.sin(t)), 20, 10)
    assert (line_geom([short, a, b], 1.5).ux, line_geom([short, a, b], 1.5).uy) == (a.ux, a.uy)
    cfg = DecodeConfig()
    valid, invalid = "4111111111111111", "4111111111111112"
    # only an unrepaired Luhn-valid reading of at least number_retry_confidence, flagged for review
    choice, i = choose_retried_number([_reading(invalid, conf=0.99), _reading(valid, conf=0.9)], VOCAB, cfg)
    assert (choice.number, i, choice.needs_review, choice.repaired) == (valid, 1, True, False)
    assert choose_retried_number([_reading(valid, conf=0.5)], VOCAB, cfg) is None
    assert choose_retried_number([_reading(invalid, conf=0.99)], VOCAB, cfg) is None
    assert choose_retried_number([_reading("4111", conf=0.99)], VOCAB, cfg) is None  # not a card number's length
    best, _ = choose_retried_number([_reading(valid, conf=0.7), _reading("5555555555554444", conf=0.95)], VOCAB, cfg)
    assert best.number == "5555555555554444"


def test_the_strongest_line_has_the_most_detector_evidence():
    from pocketocr.tasks.card.post import strongest_line

    def d(length, score):
        return Detected("number", FieldGeom(0, 0, 1.0, 0.0, length, 10), score)

    # a long split line beats a short sure piece; ties go to the first line
    assert strongest_line([[d(40, 0.99)], [d(100, 0.7), d(90, 0.7)], [d(30, 0.9)]]) == 1
    assert strongest_line([[d(50, 0.8)], [d(50, 0.8)]]) == 0


def test_a_number_must_be_one_a_card_could_carry():
    """No card number starts with 0 (ISO/IEC 7812), and a sure non-Luhn reading is a specimen only at a length
    its brand prints: a 15-digit Visa-prefixed reading is a 16-digit number with a digit lost."""
    from pocketocr.tasks.card.rules import luhn_check_digit, luhn_valid, plausible_number

    body = "0" + "4111111111111"  # 14 digits starting with 0; with its check digit Luhn-valid, 15 digits
    zero = body + luhn_check_digit(body)
    assert not plausible_number(zero) and plausible_number("4111111111111111")
    assert choose_number(*ctc_greedy(_probs(zero), VOCAB), VOCAB).number is None
    specimen, short = "4000123456789010", "400012345678901"
    assert not luhn_valid(specimen) and plausible_number(specimen) and not plausible_number(short)
    assert choose_number(*ctc_greedy(_probs(specimen), VOCAB), VOCAB).number == specimen
    assert choose_number(*ctc_greedy(_probs(short), VOCAB), VOCAB).number is None


def test_a_short_stray_piece_does_not_split_a_tilted_line():
    """The halves of a line tilted by 8 degrees and a short piece read level: the shared reading direction is
    weighted by length, so the halves stay one line, left half first."""
    from pocketocr.tasks.card.post import group_lines

    a = np.radians(-8.0)
    ux, uy = float(np.cos(a)), float(np.sin(a))
    left = Detected("number", FieldGeom(413, 439, ux, uy, 473, 34), 0.96)
    right = Detected("number", FieldGeom(413 + 494 * ux / abs(ux), 439 + 494 * np.tan(a), ux, uy, 389, 34), 0.95)
    stray = Detected("number", FieldGeom(727, 440, 1.0, 0.0, 53, 31), 0.78)
    lines = group_lines([right, stray, left])
    assert [left, right] in [[p for p in line if p is not stray] for line in lines]
