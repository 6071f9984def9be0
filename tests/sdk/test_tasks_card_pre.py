import numpy as np
import pytest
from PIL import Image, ImageDraw
from pocketocr.tasks.card.pre import (
    FieldGeom,
    PreSpec,
    crop_field,
    crop_tensor,
    geom_from_quad,
    letterbox,
    letterbox_canvas,
    read_geoms,
    zoom_crop,
)

SPEC = PreSpec()


def test_letterbox_shape_scale_and_padding():
    img = Image.new("RGB", (800, 400), (255, 255, 255))
    x, meta = letterbox(img, SPEC)
    assert x.shape == (1, 3, 384, 384) and x.dtype == np.float32
    assert meta.scale == 384 / 800
    assert np.allclose(x[0, :, :192, :], 1.0)           # white image area
    assert np.allclose(x[0, :, 200:, :], (128 / 255 - 0.5) / 0.5, atol=1e-6)  # grey padding below


def test_geom_from_quad_rotated():
    q = [(10, 10), (110, 110), (100, 120), (0, 20)]  # 45° line
    g = geom_from_quad(q)
    assert np.isclose(g.ux, np.sqrt(0.5), atol=1e-6) and np.isclose(g.uy, np.sqrt(0.5), atol=1e-6)
    assert np.isclose(g.length, np.hypot(100, 100))


def test_crop_field_follows_the_quad():
    # a black bar inside a white image: the crop of its quad is dark in the middle rows
    img = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(img).rectangle([100, 90, 300, 110], fill=0)
    g = FieldGeom(200, 100, 1.0, 0.0, 200, 20)
    crop = crop_field(img, g, SPEC)
    assert crop.shape == (32, 384) and crop.dtype == np.uint8
    w = round((200 + 2 * 20 * SPEC.pad_x) / (20 * (1 + 2 * SPEC.pad_y)) * 32)
    assert crop[16, 20:w - 20].mean() < 30       # the bar
    assert crop[1, 20:w - 20].mean() > 200       # the margin above it
    # the flipped geometry gives the same crop rotated by 180°
    flipped = crop_field(img, g.flipped(), SPEC)
    assert np.abs(flipped[:, :w][::-1, ::-1].astype(int) - crop[:, :w].astype(int)).mean() < 10


def test_crop_tensor_normalises_each_crop():
    crops = [np.full((32, 384), 10, np.uint8), np.tile(np.arange(384, dtype=np.uint8), (32, 1))]
    x = crop_tensor(crops)
    assert x.shape == (2, 1, 32, 384)
    assert abs(x[1].mean()) < 1e-4 and np.allclose(x[0], 0)


def test_expiry_crops_get_wider_margins():
    # a 100 x 20 field (x 150..250) the detector cut short: a digit-like block at x 134..142 lies outside the
    # number-style crop (6 px margins) and inside the expiry crop (18 px margins)
    img = Image.new("L", (400, 200), 255)
    ImageDraw.Draw(img).rectangle([150, 90, 250, 110], fill=0)
    ImageDraw.Draw(img).rectangle([134, 90, 142, 110], fill=0)
    g = FieldGeom(200, 100, 1.0, 0.0, 100, 20)
    number, expiry = read_geoms([g], [g], SPEC)
    assert number == g
    assert (expiry.cx, expiry.cy, expiry.height) == (g.cx, g.cy, g.height)
    assert np.isclose(expiry.length, g.length + 2 * (SPEC.expiry_pad_x - SPEC.pad_x) * g.height)
    scale = 32 / (20 * (1 + 2 * SPEC.pad_y))   # crop pixels per source pixel
    as_number, as_expiry = crop_field(img, number, SPEC), crop_field(img, expiry, SPEC)
    start = 150 - SPEC.expiry_pad_x * 20       # source x of the expiry crop's first column
    assert as_expiry[16, round((135 - start) * scale):round((141 - start) * scale)].mean() < 40   # the block
    assert as_expiry[16, round((144 - start) * scale):round((149 - start) * scale)].mean() > 200  # the gap
    assert as_number[16, :round(5 * scale)].mean() > 200                 # the number crop starts in the gap
    # old model files carry no expiry_pad_x: the default applies; a file that sets it wins
    assert PreSpec.from_metadata({}).expiry_pad_x == SPEC.expiry_pad_x
    assert PreSpec.from_metadata({"pre.expiry_pad_x": "0.3"}).expiry_pad_x == 0.3


def test_zoom_crop_copies_the_square_and_fills_past_the_edges_with_grey():
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    inside = zoom_crop(img, (10, 5, 40, 35), SPEC)
    assert inside.size == (30, 30) and (np.asarray(inside) == arr[5:35, 10:40]).all()
    past = np.asarray(zoom_crop(img, (-10, 40, 30, 80), SPEC))   # reaches past the left and bottom edges
    assert past.shape == (40, 40, 3)
    assert (past[:20, 10:] == arr[40:60, 0:30]).all()
    assert (past[:, :10] == SPEC.pad_value).all() and (past[20:] == SPEC.pad_value).all()
    assert zoom_crop(img.convert("L"), (0, 0, 8, 8), SPEC).mode == "RGB"


def _whole_photo_shrink_crop(gray: Image.Image, g: FieldGeom) -> np.ndarray:
    """crop_field as it was before the window: the whole photo shrunk, then the QUAD (the reference)."""
    H = SPEC.rec_height
    hh, hl = g.height * (0.5 + SPEC.pad_y), g.length / 2 + g.height * SPEC.pad_x
    out_w = int(min(SPEC.rec_width, max(8, round(2 * hl / (2 * hh) * H))))
    nx, ny = -g.uy, g.ux
    corners = [(g.cx - g.ux * hl - nx * hh, g.cy - g.uy * hl - ny * hh), (g.cx - g.ux * hl + nx * hh, g.cy - g.uy * hl + ny * hh),
               (g.cx + g.ux * hl + nx * hh, g.cy + g.uy * hl + ny * hh), (g.cx + g.ux * hl - nx * hh, g.cy + g.uy * hl - ny * hh)]
    f = 1.0 / ((2 * hh) / H / 1.5)
    small = gray.resize((round(gray.width * f), round(gray.height * f)), Image.BILINEAR)
    fx, fy = small.width / gray.width, small.height / gray.height
    quad = [v for x, y in corners for v in (x * fx, y * fy)]
    return np.asarray(small.transform((out_w, H), Image.QUAD, quad, Image.BILINEAR))


def test_pre_shrunk_crops_match_shrinking_the_whole_photo():
    """Tall fields (a 12 MP photo) are cut from a shrunk window, not a shrunk photo: the same crop to within one
    grey level, at the edges and off the photo too."""
    rng = np.random.default_rng(3)
    gray = Image.fromarray(rng.integers(0, 255, (300, 400), dtype=np.uint8)).resize((3000, 2000), Image.BICUBIC)
    geoms = [FieldGeom(1500, 1000, 1.0, 0.0, 1800, 150), FieldGeom(900, 700, 0.96, 0.28, 900, 90),
             FieldGeom(40, 30, 0.8, -0.6, 1200, 200), FieldGeom(2990, 1990, 1.0, 0.0, 600, 120)]
    for g in geoms:
        assert g.height * (0.5 + SPEC.pad_y) * 2 / SPEC.rec_height > 2.0  # the pre-shrink path
        ref = _whole_photo_shrink_crop(gray, g)
        got = crop_field(gray, g, SPEC)[:, :ref.shape[1]]
        assert np.abs(got.astype(int) - ref).max() <= 1, g
    off = crop_field(gray, FieldGeom(-5000, 1000, 1.0, 0.0, 600, 120), SPEC)
    assert off.shape == (32, 384) and not off.any()  # wholly off the photo: the QUAD's fill


def test_turned_canvas_turns_the_photo_and_turn_maps_fields_back():
    """A bright dot turned into the canvas lands where `Turn` says, and a field found in the canvas maps back
    to the dot in the photo with its reading direction turned back (30 degrees down to the right)."""
    import math

    from pocketocr.tasks.card.pre import FieldGeom, turned_canvases

    photo = np.full((250, 400, 3), 60, np.uint8)
    photo[57:64, 297:304] = 250  # a dot centred on (300, 60)
    (canvas, turn), (level, _) = turned_canvases(Image.fromarray(photo), [30.0, 0.0], PreSpec())
    assert (level == letterbox_canvas(Image.fromarray(photo), PreSpec())[0]).mean() > 0.99  # 0 degrees: the letterbox
    assert canvas.shape == (384, 384, 3)
    assert turn.box_size[0] == pytest.approx(384) and turn.box_size[1] < 384
    assert (canvas[-2:, -2:] == PreSpec().pad_value).all()  # outside the turned photo: letterbox grey
    ys, xs = np.nonzero(canvas[..., 0] > 150)
    cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
    g = turn.to_photo(FieldGeom(cx, cy, 1.0, 0.0, 10.0, 4.0))
    assert (g.cx, g.cy) == (pytest.approx(300, abs=1.5), pytest.approx(60, abs=1.5))
    assert (g.ux, g.uy) == (pytest.approx(math.cos(math.radians(30))), pytest.approx(math.sin(math.radians(30))))
    assert g.length == pytest.approx(10 / turn.scale) and g.height == pytest.approx(4 / turn.scale)
