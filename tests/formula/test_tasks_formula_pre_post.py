import numpy as np
import pytest
from PIL import Image
from pocketocr.tasks.formula.post import decode, label_components
from pocketocr.tasks.formula.pre import PageMeta, PreSpec, prepare
from pocketocr.training.formula.data import encode_targets


def test_prepare_any_aspect():
    spec = PreSpec()
    x, meta = prepare(Image.new("RGB", (3000, 1000), "white"), spec)
    assert x.shape == (1, 1, 352, 1024) and x.dtype == np.float32
    assert meta.scale == pytest.approx(1024 / 3000) and meta.in_size == (1024, 341)
    assert np.allclose(x, (1.0 - spec.mean) / spec.std)
    x, meta = prepare(Image.new("L", (100, 700)), spec)
    assert x.shape[2] == 1024 and x.shape[3] % 32 == 0


def test_spec_metadata_round_trip():
    spec = PreSpec(long_side=1280, box_unit=4.0)
    assert PreSpec.from_metadata({**spec.to_metadata(), "other": "x"}) == spec
    assert spec.class_names == ("embedded", "isolated")


def test_label_components_8_connected():
    m = np.zeros((6, 8), bool)
    m[0, 0] = m[1, 1] = True          # diagonal: one component
    m[3, 3:6] = True
    m[4, 5] = m[5, 2] = True          # (5, 2) touches nothing
    lab = label_components(m)
    assert lab.max() == 3
    assert lab[0, 0] == lab[1, 1] and lab[3, 3] == lab[4, 5] and lab[5, 2] not in (lab[0, 0], lab[3, 3])
    assert (lab > 0).sum() == m.sum()
    assert label_components(np.zeros((4, 4), bool)).max() == 0


def _core(b, shrink):
    x1, y1, x2, y2 = b[:4]
    s = min(y2 - y1, x2 - x1) * shrink
    return [(x1 + s, y1 + s), (x2 - s, y1 + s), (x2 - s, y2 - s), (x1 + s, y2 - s)]


def test_encode_decode_round_trip():
    """Perfect maps (the training targets) decode back to the boxes, classes kept, within a pixel or two."""
    spec = PreSpec()
    boxes = [(100, 200, 118, 224, "embedded"), (125, 202, 300, 226, "embedded"),    # neighbours on one line
             (400, 500, 1200, 560, "isolated"), (400, 575, 1000, 630, "isolated"),  # two display lines
             (50, 1200, 64, 1221, "embedded")]
    w, h = 1400, 2000
    scale = spec.long_side / max(w, h)
    shape = (1024 // 4, 736 // 4)
    t = encode_targets(boxes, [_core(b, spec.shrink) for b in boxes], scale, shape, spec)
    meta = PageMeta(scale, (w, h), (round(w * scale), round(h * scale)))
    found = decode(t[0:2], t[2:6], meta, spec)
    assert len(found) == len(boxes)
    for b in boxes:
        best = min(found, key=lambda d: sum(abs(p - q) for p, q in zip(d.box, b[:4])))
        assert best.kind == b[4]
        assert np.allclose(best.box, b[:4], atol=2.0), (best, b)


def test_decode_thresholds_and_padding():
    spec = PreSpec()
    prob = np.zeros((2, 64, 64), np.float32)
    box = np.zeros((4, 64, 64), np.float32)
    prob[0, 10, 10] = 0.9          # kept
    prob[1, 30, 30] = 0.3          # below threshold
    prob[0, 60, 60] = 0.99         # in the padding (resized page is 200 x 200 input px = 50 cells)
    meta = PageMeta(0.5, (400, 400), (200, 200))
    found = decode(prob, box, meta, spec)
    assert len(found) == 1 and found[0].kind == "embedded"
    cx = (10 + 0.5) * 4 / 0.5
    assert found[0].box == pytest.approx((cx - 16, cx - 16, cx + 16, cx + 16), abs=0.1)


def test_otsu_threshold_splits_ink_from_paper():
    from pocketocr.tasks.formula.post import otsu_threshold

    r = np.random.default_rng(0)
    v = np.concatenate([r.integers(20, 60, 300), r.integers(200, 250, 3000)]).astype(np.uint8)
    assert 59 <= otsu_threshold(v) < 200
    assert otsu_threshold(np.full(50, 128, np.uint8)) == 0  # one level: no split, the first k


def test_snap_to_ink_shrinks_loose_boxes_to_the_ink_and_leaves_the_rest():
    from pocketocr.tasks.formula.post import DecodeConfig, Detection, snap_to_ink

    grey = np.full((200, 300), 235, np.uint8)
    grey[50:70, 40:90] = 30          # a formula's ink
    grey[50:70, 98:110] = 30         # the next word, outside the loose box
    grey[150:160, 200:260] = 215     # a faint smudge: under the contrast floor
    found = [Detection((35.2, 44.6, 95.0, 76.3), "embedded", 0.9),   # loose around the ink
             Detection((195.0, 145.0, 265.0, 165.0), "embedded", 0.8),  # no contrast: kept as decoded
             Detection((150.0, 100.0, 170.0, 120.0), "embedded", 0.7),  # plain paper: kept as decoded
             Detection((60.0, 55.0, 80.0, 65.0), "isolated", 0.6)]      # inside the ink: already tight
    snapped = snap_to_ink(found, grey)
    assert snapped[0] == Detection((40.0, 50.0, 90.0, 70.0), "embedded", 0.9)
    assert snapped[1:3] == found[1:3]
    assert snapped[3].box == (60.0, 55.0, 80.0, 65.0) and snapped[3].kind == "isolated"
    assert snap_to_ink(found, grey, DecodeConfig(snap=False)) == found
    for a, b in zip(found, snapped):  # boxes only shrink
        assert a.box[0] <= b.box[0] and a.box[1] <= b.box[1] and b.box[2] <= a.box[2] and b.box[3] <= a.box[3]


def test_snap_to_ink_at_the_page_edge():
    from pocketocr.tasks.formula.post import Detection, snap_to_ink

    grey = np.full((40, 60), 240, np.uint8)
    grey[0:10, 50:60] = 0
    (d,) = snap_to_ink([Detection((44.0, 0.0, 60.0, 14.5), "embedded", 0.5)], grey)
    assert d.box == (50.0, 0.0, 60.0, 10.0)
