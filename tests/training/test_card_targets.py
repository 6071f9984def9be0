"""Detector training targets (training/card/data.py `det_target`), decoded by the SDK's own `find_fields`."""

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("tqdm")

from PIL import Image
from pocketocr.tasks.card.post import find_fields
from pocketocr.tasks.card.pre import DetMeta, PreSpec, geom_from_quad
from pocketocr.training.card.data import det_target
from pocketocr.training.card.synth import CardSample

SPEC = PreSpec()
META = DetMeta(scale=1.0, src_size=(384, 384))


def _sample(quads):
    return CardSample(image=Image.new("RGB", (384, 384)), number="4" * 16, expiry=None, grouping=(4, 4, 4, 4),
                      number_quads=quads, number_lines=["4444"] * len(quads), expiry_quad=None,
                      card_quad=[(0, 0), (384, 0), (384, 384), (0, 384)], slices={})


def _line(x0, y0, length, height, deg=0.0):
    a = np.radians(deg)
    u, n = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    p = np.array([x0, y0], float)
    return [tuple(p), tuple(p + u * length), tuple(p + u * length + n * height), tuple(p + n * height)]


def _numbers(target, spec):
    return sorted((f for f in find_fields(target, META, spec) if f.kind == "number"), key=lambda f: f.geom.cy)


def test_centre_targets_keep_stacked_lines_apart():
    # two lines 16 px high, 4 px apart: filled-and-outlined cells join them, centre-line scores do not
    quads = [_line(60, 100, 200, 16), _line(60, 120, 200, 16)]
    fill = _numbers(det_target(_sample(quads), 1.0, SPEC, "fill"), SPEC)
    centre = _numbers(det_target(_sample(quads), 1.0, SPEC, "centre"), replace(SPEC, field_shift=0.0))
    assert len(fill) == 1 and len(centre) == 2
    for f, q in zip(centre, quads):
        g = geom_from_quad(q)
        assert abs(f.geom.cx - g.cx) < 1.0 and abs(f.geom.cy - g.cy) < 1.0
        assert f.geom.height == pytest.approx(16, abs=0.5) and abs(f.geom.length - g.length) <= 4


@pytest.mark.parametrize("deg", [-17.0, 0.0, 8.0])
def test_centre_targets_decode_where_the_field_is(deg):
    """With field_shift 0 the decoded field's centre is the quad's within a pixel, at any tilt; the filled
    targets need the v1-v6 half-cell shift to come close."""
    q = _line(80, 150, 180, 12, deg)
    g = geom_from_quad(q)
    (f,) = _numbers(det_target(_sample([q]), 1.0, SPEC, "centre"), replace(SPEC, field_shift=0.0))
    assert np.hypot(f.geom.cx - g.cx, f.geom.cy - g.cy) < 1.0
    assert np.degrees(np.arctan2(f.geom.uy, f.geom.ux)) == pytest.approx(deg, abs=1.0)
    (unshifted,) = _numbers(det_target(_sample([q]), 1.0, SPEC, "fill"), replace(SPEC, field_shift=0.0))
    assert np.hypot(unshifted.geom.cx - g.cx, unshifted.geom.cy - g.cy) > 1.5


def test_centre_targets_mark_a_thin_line_and_scores_peak_on_it():
    t = det_target(_sample([_line(60, 200, 120, 3)]), 1.0, SPEC, "centre")
    cols = t[0].max(0)
    assert (cols[16:44] >= 0.5).all()        # every column along the 3-px line has a cell above threshold
    assert t[0].max() <= 1.0 and t[0].min() >= 0.0


def test_unknown_target_style_is_an_error():
    with pytest.raises(ValueError, match="target style"):
        det_target(_sample([_line(60, 200, 120, 10)]), 1.0, SPEC, "blur")
