"""The synthetic card generator: reproducible, varied, labels consistent with the image."""

import json
import random
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("tqdm")

from pocketocr.tasks.card.rules import luhn_valid, parse_expiry
from pocketocr.training.card.fonts import check_fonts
from pocketocr.training.card.numbers import sample_grouping, sample_number
from pocketocr.training.card.synth import make_sample, write_dataset


def test_same_seed_same_sample():
    a, b = make_sample(123), make_sample(123)
    assert a.number == b.number and a.expiry == b.expiry and a.number_quads == b.number_quads
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert make_sample(124).number != a.number


def test_number_distribution():
    rng = random.Random(0)
    nums = [sample_number(rng) for _ in range(4000)]
    lengths = Counter(len(n) for n in nums)
    assert set(lengths) >= {15, 16, 19} and min(lengths) >= 13 and max(lengths) <= 19
    non_luhn = sum(not luhn_valid(n) for n in nums) / len(nums)
    assert 0.03 < non_luhn < 0.07  # ~5% specimen-style numbers
    assert any(n.startswith(("34", "37")) and len(n) == 15 for n in nums)  # Amex
    assert any(n.startswith("62") for n in nums)  # UnionPay
    assert any(2221 <= int(n[:4]) <= 2720 for n in nums)  # Mastercard 2-series


def test_groupings_cover_the_number():
    rng = random.Random(1)
    for _ in range(500):
        n = sample_number(rng)
        assert sum(sample_grouping(rng, n)) == len(n)


def test_labels_are_consistent():
    for seed in range(20):
        s = make_sample(seed)
        w, h = s.image.size
        assert "".join(s.number_lines) == s.number
        assert len(s.number_quads) == len(s.number_lines)
        assert s.expiry is None or parse_expiry(s.expiry) == s.expiry
        for q in s.number_quads:
            q = np.asarray(q)
            # the number is in the photo (a few pixels of slack for the warp)
            assert q[:, 0].min() > -5 and q[:, 0].max() < w + 5 and q[:, 1].min() > -5 and q[:, 1].max() < h + 5


def test_variety_of_styles_and_scenes():
    samples = [make_sample(1000 + i) for i in range(60)]
    assert {s.slices["style"] for s in samples} == {"embossed", "flat"}
    assert {s.slices["scene"] for s in samples} >= {"photo", "render", "hand"}


def test_reading_condition_slices():
    """digit_px, blur and glare describe what the scene did to the number, and follow what was drawn."""
    from pocketocr.training.card.scene import _conditions

    samples = [make_sample(2000 + i) for i in range(40)]
    seen = {k: {s.slices[k] for s in samples} for k in ("digit_px", "blur", "glare")}
    assert seen["digit_px"] <= {"<14", "14-24", "24+"} and len(seen["digit_px"]) >= 2
    assert seen["blur"] <= {"none", "light", "heavy"} and len(seen["blur"]) >= 2
    assert seen["glare"] <= {"none", "light", "strong"} and len(seen["glare"]) >= 2
    quad = np.array([[100.0, 100], [300, 100], [300, 120], [100, 120]])     # a 20 px tall number line
    assert _conditions([quad], [], 0.0) == {"digit_px": "14-24", "blur": "none", "glare": "none"}
    assert _conditions([quad], [], 3.0)["blur"] == "heavy" and _conditions([quad], [], 1.0)["blur"] == "light"
    on = (np.array([200.0, 110]), 40.0, 20.0, 0.0, 150.0)                 # a glare spot centred on the line
    off = (np.array([900.0, 900]), 40.0, 20.0, 0.0, 150.0)                # one far away
    assert _conditions([quad], [on], 0.0)["glare"] == "strong"
    assert _conditions([quad], [off], 0.0)["glare"] == "none"


def test_fonts_are_installed():
    counts = check_fonts()
    assert counts["ocr_a"] and counts["ocr_b"] and counts["hangul"] and counts["cjk"], counts


def test_write_dataset_format(tmp_path):
    write_dataset(tmp_path, 3, seed=5, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    for r in rows:
        assert (tmp_path / r["file"]).exists()
        assert r["number"].isdigit() and {"style", "scene", "brand", "length", "digit_px", "blur", "glare"} <= set(r)


def test_data_versions():
    """Version 2 adds expiry layouts; version 1 still draws its own (the shipped recognizer's data)."""
    from pocketocr.training.card.synth import DATA_VERSIONS, LATEST

    assert LATEST == max(DATA_VERSIONS) >= 2
    with pytest.raises(ValueError, match="unknown card data version 99"):
        make_sample(1, version=99)
    places = Counter()
    for seed in range(2000, 2060):
        v1, v2 = make_sample(seed, scene="render", version=1), make_sample(seed, scene="render", version=2)
        assert v1.number == v2.number and v1.expiry == v2.expiry  # versions change the face, not the labels
        assert "expiry_place" not in v1.slices
        places[v2.slices["expiry_place"]] += 1
        if v2.slices["expiry_place"] in ("right", "name_row"):
            # right-aligned: the expiry ends in the right third of the card (version 1 starts it at 25-55%)
            assert np.asarray(v2.expiry_quad)[:, 0].max() > 0.6 * v2.image.width, seed
    assert {"below", "right", "name_row"} <= set(places), places


def test_synth_cli_writes_the_chosen_data_version(tmp_path):
    from tests.conftest import run_cli

    res = run_cli("synth", "card", "--out", str(tmp_path / "v2"), "--n", "2", "--seed", "3", timeout=300)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in (tmp_path / "v2" / "labels.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all("expiry_place" in r for r in rows)  # the latest version by default
    res = run_cli("synth", "card", "--out", str(tmp_path / "v1"), "--n", "1", "--data-version", "1", timeout=300)
    assert res.returncode == 0 and "expiry_place" not in (tmp_path / "v1" / "labels.jsonl").read_text()
    res = run_cli("synth", "card", "--out", str(tmp_path / "v9"), "--n", "1", "--data-version", "9")
    assert res.returncode == 2 and "unknown --data-version 9" in res.stderr and not (tmp_path / "v9").exists()


def test_version_3_embossing_is_bolder():
    """Data version 3 widens embossed strokes (`bold`): the same mask paints more of the card than before."""
    from PIL import Image, ImageDraw
    from pocketocr.training.card.face import _paint_text

    mask = Image.new("L", (120, 40), 0)
    ImageDraw.Draw(mask).rectangle((20, 10, 24, 30), fill=255)  # one thin stroke
    painted = {}
    for bold in (0, 2):
        card = Image.new("RGB", (160, 60), (90, 90, 120))
        emboss = {"dx": 2, "dy": 2, "soft": 0.5, "shadow": 0.8, "light": 0.8, "tip": (220, 220, 225), "bold": bold}
        _paint_text(random.Random(0), card, mask, (10, 10), "embossed", (220, 220, 225), emboss)
        painted[bold] = int((np.asarray(card).astype(int) - (90, 90, 120) != 0).any(-1).sum())
    assert painted[2] > painted[0] * 1.3, painted


def _label_digest(version: int) -> str:
    import hashlib

    rows = []
    for seed in range(12):
        s = make_sample(seed, version=version)
        rows.append([s.number, s.expiry, [[[round(v, 1) for v in p] for p in q] for q in s.number_quads], s.slices])
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def test_older_versions_draw_what_they_drew():
    """Versions 1-3 are the shipped models' data: a new version must not move a field or change a slice of
    theirs (digests taken before version 4 was added; the images themselves matched byte for byte too)."""
    assert {v: _label_digest(v) for v in (1, 2, 3, 4, 5, 6)} == {1: "0622ae10fd092255", 2: "2302c6a1c216acab",
                                                                 3: "132e126ca24d882e", 4: "d68906a7f3bb280f",
                                                                 5: "b0588bd409f76bce",  # 5: taken before version 6
                                                                 6: "2cbf3e15cc282fd9"}  # 6: before version 7


def test_version_6_prints_some_date_pairs_without_labels():
    """Version 6: some cards print a VALID FROM and a THRU date side by side with no labels (the real card_024); a
    `dates` slice says which; the labels are version 5's, and the expiry quad is still the later date's."""
    kinds = Counter()
    for seed in range(150):
        s6 = make_sample(6000 + seed, scene="render", version=6)
        kinds[s6.slices["dates"]] += 1
        assert (s6.expiry is None) == (s6.slices["dates"] == "no_expiry")
        if s6.slices["dates"] == "pair_unlabelled":
            s5 = make_sample(6000 + seed, scene="render", version=5)
            assert (s5.number, s5.expiry) == (s6.number, s6.expiry)
            # the two dates sit side by side on one row, the expiry (the second) to the right
            q = np.asarray(s6.expiry_quad)
            assert q[:, 0].min() > 0.3 * s6.image.width
    assert kinds["pair_unlabelled"] >= 4 and kinds["pair"] >= 4 and kinds["one"] > kinds["pair"], kinds


def test_version_5_tilts_some_photos_and_prints_some_dates_in_a_display_face():
    """Version 5: about 15% of the photos held 20-35 degrees off level (a `tilt` slice on every photo), and dates
    in the squared display face; the number and the expiry stay version 4's (the same labels and face draws)."""
    import math

    tilts, faces = [], []
    for seed in range(80):
        s5 = make_sample(5000 + seed, version=5)
        tilts.append(s5.slices["tilt"])
        faces.append(s5.slices["expiry_face"])
        assert (s5.expiry is None) == (s5.slices["expiry_face"] == "none")
        if s5.slices["tilt"] != "0-20":
            (x0, y0), (x1, y1) = s5.number_quads[0][0], s5.number_quads[0][1]
            off = abs((math.degrees(math.atan2(y1 - y0, x1 - x0)) + 45) % 90 - 45)
            assert 19.5 <= off <= 35.5, (seed, off)
            w, h = s5.image.size
            assert all(-1 <= x <= w + 1 and -1 <= y <= h + 1 for q in s5.number_quads for x, y in q)
    tilted = sum(t != "0-20" for t in tilts)
    assert 4 <= tilted <= 24, tilts
    assert faces.count("display") >= 4, faces
    v4, v5 = make_sample(5001, version=4), make_sample(5001, version=5)
    assert (v4.number, v4.expiry) == (v5.number, v5.expiry)


def test_version_5_draws_hangul_and_cjk_labels_with_their_glyphs():
    """Versions 1-4 drew "유효기간" or "银联" in a Latin sans: a row of empty boxes. Version 5 takes a font with
    the glyphs; Latin labels keep the face they were given."""
    from pocketocr.training.card.face import _script_font
    from pocketocr.training.card.fonts import font_files, load_font

    sans = load_font(font_files("sans")[0], 20)
    assert _script_font("VALID THRU", sans, 5) is sans and _script_font("유효기간", sans, 4) is sans
    for label in ("유효기간", "持卡人", "银联"):
        font = _script_font(label, sans, 5)
        assert font is not sans and font.size == 20
        # each glyph its own shape, not the one missing-glyph box
        masks = {bytes(font.getmask(ch)) for ch in label}
        assert len(masks) == len(set(label)), label


def test_knockout_fonts_are_found_and_left_out_from_version_4():
    """OCRBX.otf (fonts-ocr-b) draws each glyph knocked out of a filled box; version 4 never picks it."""
    from pocketocr.training.card.fonts import FONT_GROUPS, font_files, is_knockout, pick_font

    knockout = {p.rsplit("/", 1)[-1] for g in FONT_GROUPS for p in font_files(g) if is_knockout(p)}
    assert knockout == {"OCRBX.otf"}, knockout   # the Makefile installs fonts-ocr-b; nothing else is boxed
    rng = random.Random(0)
    old = {pick_font(rng, ["ocr_b"], 30)[1].rsplit("/", 1)[-1] for _ in range(60)}
    new = {pick_font(rng, ["ocr_b"], 30, plain=True)[1].rsplit("/", 1)[-1] for _ in range(60)}
    assert "OCRBX.otf" in old and "OCRBX.otf" not in new and new
    assert all(make_sample(3000 + i, scene="render", version=4) for i in range(3))


def test_version_4_draws_no_logo_over_a_field():
    """A logo that would touch the number or the expiry is left out (version 4), drawn as before otherwise."""
    from PIL import Image
    from pocketocr.training.card.face import _draw_logo

    blank = lambda: Image.new("RGB", (400, 300), (40, 40, 40))
    for seed in range(12):  # every kind of mark: circles, a brand word, a hologram
        under = [[(90.0, 110.0), (300.0, 110.0), (300.0, 140.0), (90.0, 140.0)]]   # a field under (100, 100)
        aside = [[(90.0, 260.0), (300.0, 260.0), (300.0, 290.0), (90.0, 290.0)]]   # one well below it
        drawn = {}
        for name, avoid in (("none", None), ("under", under), ("aside", aside)):
            img = blank()
            _draw_logo(random.Random(seed), img, 100, 100, avoid)
            drawn[name] = np.asarray(img)
        assert (drawn["none"] != 40).any() and np.array_equal(drawn["aside"], drawn["none"]), seed
        assert not (drawn["under"] != 40).any(), seed


def test_farrington_like_fonts_draw_ten_distinct_digits(tmp_path):
    """The stroke-drawn Farrington 7B stand-ins: every variant draws each digit and "/" as its own shape,
    and the same arguments write the same bytes (the data stays a function of the seed)."""
    from PIL import ImageFont
    from pocketocr.training.card.farrington import VARIANTS, build_font, farrington_fonts
    from pocketocr.training.card.fonts import font_files, is_knockout

    paths = farrington_fonts()
    assert len(paths) == len(VARIANTS) and font_files("farrington_7b") == paths
    for path in paths:
        font = ImageFont.truetype(path, 40)
        masks = {ch: np.asarray(font.getmask(ch)) for ch in "0123456789/"}
        assert all(m.size and (m > 127).mean() > 0.05 for m in masks.values()), path
        shapes = {(m.shape, m.tobytes()) for m in masks.values()}
        assert len(shapes) == len(masks), path
        assert not is_knockout(path)
    a = build_font(tmp_path / "a.ttf", 1.1, 1.0, 0.05)
    b = build_font(tmp_path / "b.ttf", 1.1, 1.0, 0.05)
    assert a.read_bytes() == b.read_bytes()


def test_version_4_embosses_in_the_farrington_like_face(monkeypatch):
    """Version 4 prints about half of the embossed numbers in the stroke-drawn face."""
    import pocketocr.training.card.synth as synth_mod

    seen, real = [], synth_mod.render_face
    monkeypatch.setattr(synth_mod, "render_face", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    for seed in range(40):
        make_sample(4000 + seed, scene="render", version=4)
    fonts = [f.extra["font"] for f in seen if f.style == "embossed"]
    farr = sum(name.startswith("PocketOCRFarrington") for name in fonts)
    assert 0.25 * len(fonts) <= farr <= 0.85 * len(fonts), (farr, len(fonts))


def test_tilt_sample_turns_the_photo_and_its_labels_together():
    """`tilt_sample` leaves the number line `lo`-`hi` degrees off the nearer axis; the quads turn rigidly with the
    photo (sides keep their lengths) and still cover the same ink (the grey of the turned number's quad is the
    grey of the original's)."""
    import math

    from PIL import Image, ImageDraw
    from pocketocr.training.card.synth import tilt_sample

    def angle(q):
        return math.degrees(math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0]))

    def side_lengths(q):
        return [math.dist(q[i], q[(i + 1) % 4]) for i in range(4)]

    def ink(img, q):  # mean grey inside a quad
        mask = Image.new("L", img.size)
        ImageDraw.Draw(mask).polygon([tuple(p) for p in q], fill=255)
        return float(np.asarray(img.convert("L"), np.float64)[np.asarray(mask) > 0].mean())

    for seed in (5, 6, 7):
        s = make_sample(seed, version=1)
        t = tilt_sample(s, random.Random(seed), 20, 35)
        off = (angle(t.number_quads[0]) + 45) % 90 - 45
        assert 20 - 0.5 <= abs(off) <= 35 + 0.5, (seed, off)
        assert t.slices["tilt"] in {"20-25", "25-30", "30-35"} and t.number == s.number
        assert t.image.width * t.image.height > s.image.width * s.image.height
        for a, b in zip(s.number_quads + [s.card_quad], t.number_quads + [t.card_quad]):
            assert np.allclose(side_lengths(a), side_lengths(b), atol=0.5)
        assert ink(t.image, t.number_quads[0]) == pytest.approx(ink(s.image, s.number_quads[0]), abs=6)
    again = tilt_sample(make_sample(5, version=1), random.Random(5), 20, 35)
    assert again.number_quads == tilt_sample(make_sample(5, version=1), random.Random(5), 20, 35).number_quads


def test_synth_cli_tilt(tmp_path):
    from tests.conftest import run_cli

    res = run_cli("synth", "card", "--out", str(tmp_path / "t"), "--n", "2", "--seed", "3", "--tilt", "20,35",
                  timeout=300)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in (tmp_path / "t" / "labels.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["tilt"] in {"20-25", "25-30", "30-35"} for r in rows)
    for bad in ("20", "35,20", "a,b", "10,60"):
        res = run_cli("synth", "card", "--out", str(tmp_path / "bad"), "--n", "1", "--tilt", bad)
        assert res.returncode == 2 and "--tilt" in res.stderr and len(res.stderr.strip().splitlines()) == 1, bad
    assert not (tmp_path / "bad").exists()


def test_generator_labels_by_the_brands_it_draws():
    """The synthetic generator looks numbers up in the rows it draws only, so a Discover number it drew inside an
    Elo range keeps the grouping and label it was drawn with (every data version draws what it drew)."""
    from pocketocr.tasks.card.rules import brand_row
    from pocketocr.training.card.numbers import GENERATOR_BRANDS

    assert brand_row("6500311234567892", GENERATOR_BRANDS).name == "discover"
    assert [b.name for b in GENERATOR_BRANDS] == ["amex", "diners", "jcb", "discover", "unionpay", "mastercard",
                                                  "maestro", "mir", "rupay", "troy", "visa"]


def test_prefix_sets_pair_the_same_cards_with_other_leading_digits():
    """`renumber` changes the digits and nothing else: the same grouping, card and conditions (the number's own
    quad follows its glyphs' widths); a 16-digit
    number gets a listed prefix and stays Luhn-valid (or non-Luhn) as drawn; other lengths are kept."""
    from pocketocr.tasks.card.rules import luhn_valid
    from pocketocr.training.card.prefix_sets import PREFIXES, renumber_with

    renumber = renumber_with(PREFIXES["domestic"])
    seen = 0
    for seed in range(40):
        a, b = make_sample(seed, version=6), make_sample(seed, version=6, renumber=renumber)
        assert (a.grouping, a.expiry, a.slices.get("style"), a.slices.get("blur")) == \
            (b.grouping, b.expiry, b.slices.get("style"), b.slices.get("blur"))
        assert np.allclose(a.card_quad, b.card_quad, atol=0.5)  # a tilted photo turns by its number line's angle
        if len(a.number) == 16:
            seen += 1
            assert b.number[:4] in PREFIXES["domestic"] and b.number[4:15] == a.number[4:15]
            assert luhn_valid(b.number) == luhn_valid(a.number)
            assert a.image.tobytes() != b.image.tobytes()  # the other digits are printed
        else:
            assert b.number == a.number
    assert seen >= 10
    with pytest.raises(ValueError, match="keep the number"):
        make_sample(0, version=6, renumber=lambda n: n + "1")


def test_version_7_prints_other_leading_digits_on_version_6_cards():
    """Version 7 is version 6 with a quarter of the numbers given other leading digits (same length, Luhn as
    drawn); every other number, and so the whole photo, is version 6's. The `prefix` slice says which, and the
    brand is the SDK's (a domestic prefix is labelled by its scheme)."""
    from pocketocr.tasks.card.rules import brand_of, brand_row, luhn_valid
    from pocketocr.training.card.numbers import GENERATOR_BRANDS

    drawn_names = {b.name for b in GENERATOR_BRANDS}
    kinds = Counter()
    for seed in range(120):
        a, b = make_sample(seed, version=6), make_sample(seed, version=7)
        kinds[b.slices["prefix"]] += 1
        assert (a.grouping, a.expiry, a.slices.get("style"), a.slices.get("tilt")) == \
            (b.grouping, b.expiry, b.slices.get("style"), b.slices.get("tilt"))
        assert b.slices["brand"] == (brand_of(b.number) or "other")
        if b.slices["prefix"] == "drawn":
            assert b.number == a.number and a.image.tobytes() == b.image.tobytes(), seed
            continue
        assert len(b.number) == len(a.number) and b.number != a.number
        assert luhn_valid(b.number) == luhn_valid(a.number)
        row = brand_row(b.number)  # a number the reader could meet: its brand prints this length
        assert row is None or len(b.number) in row.lengths, (seed, b.number[:6], len(b.number))
        if b.slices["prefix"] == "domestic":
            assert b.slices["brand"] not in drawn_names, (seed, b.slices["brand"])
    assert kinds["drawn"] > kinds["domestic"] + kinds["other"] > 15 and kinds["domestic"] and kinds["other"], kinds
