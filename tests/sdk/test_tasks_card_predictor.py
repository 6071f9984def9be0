"""CardReader with real onnxruntime sessions on the shipped int8 models."""

from __future__ import annotations

import json

import numpy as np
import pocketocr
import pytest
from PIL import Image
from pocketocr.errors import ImageError
from pocketocr.tasks.card.predictor import CardReader

from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def reader() -> CardReader:
    return CardReader()


def _labels():
    return [json.loads(x) for x in (EXAMPLES / "labels.jsonl").read_text().splitlines()]


def test_reads_most_bundled_examples(reader):
    labels = _labels()
    hits = sum(reader.read(EXAMPLES / r["file"]).number == r["number"] for r in labels)
    assert hits >= len(labels) - 2, f"only {hits}/{len(labels)} example numbers read"


def test_input_types_agree(reader):
    path = EXAMPLES / _labels()[0]["file"]
    img = Image.open(path)
    by_path = reader.read(path)
    assert reader.read(path.read_bytes()).number == by_path.number
    assert reader.read(img).number == by_path.number
    assert reader.read(np.asarray(img.convert("RGB"))).number == by_path.number


def test_blank_image_reads_nothing(reader):
    r = reader.read(np.full((480, 640, 3), 200, np.uint8))
    assert r.number is None and r.needs_review


def test_result_fields(reader):
    r = pocketocr.read_card(EXAMPLES / _labels()[0]["file"])
    assert set(r.timings_ms) == {"pre", "infer", "post", "total"}
    assert r.boxes["number"] and all(len(b.box) == 4 for b in r.boxes["number"])
    assert 0 <= r.confidence["number"] <= 1


def test_feed_votes_until_stable(reader):
    reader.reset()
    path = EXAMPLES / _labels()[0]["file"]
    want = reader.read(path).number
    assert want is not None
    out = [reader.feed(path) for _ in range(5)]
    assert out[:4] == [None] * 4 and out[4] is not None and out[4].number == want
    reader.reset()
    assert reader.feed(path) is None


def test_bad_input_raises_image_error(reader, tmp_path):
    p = tmp_path / "x.jpg"
    p.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ImageError, match="x.jpg"):
        reader.read(p)


def _small_in_frame(name: str, factor: float) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A bundled example shrunk to `factor` and pasted onto a noisy grey frame of its old size: a card held
    far from the camera. Returns the frame and the card's rectangle in it."""
    img = Image.open(EXAMPLES / "images" / name).convert("RGB")
    small = img.resize((round(img.width * factor), round(img.height * factor)), Image.BILINEAR)
    rng = np.random.default_rng(0)
    frame = Image.fromarray(rng.integers(90, 150, (img.height, img.width, 3), dtype=np.uint8))
    dx, dy = img.width // 3, img.height // 4
    frame.paste(small, (dx, dy))
    return frame, (dx, dy, dx + small.width, dy + small.height)


def test_zoomed_second_pass_reads_small_cards_and_maps_boxes_back(reader):
    """The second pass reads the square around the first pass's marks; its boxes are in the photo's pixels."""
    from dataclasses import replace

    from pocketocr.tasks.card.post import DecodeConfig
    one_pass = CardReader(config=replace(DecodeConfig(), zoom=False, turn_angles=()))  # no turned reads either
    truth = {r["file"].split("/")[-1]: r["number"] for r in _labels()}
    cases = [("example_3.jpg", 0.4), ("example_4.jpg", 0.3), ("example_5.jpg", 0.3), ("example_6.jpg", 0.3)]
    zoomed_hits = one_pass_hits = 0
    for name, factor in cases:
        frame, (x0, y0, x1, y1) = _small_in_frame(name, factor)
        r = reader.read(frame)
        one_pass_hits += one_pass.read(frame).number == truth[name]
        if r.number != truth[name]:
            continue
        zoomed_hits += 1
        for b in r.boxes["number"]:
            bx0, by0, bx1, by1 = b.box
            assert x0 - 5 <= bx0 < bx1 <= x1 + 5 and y0 - 5 <= by0 < by1 <= y1 + 5, (name, b.box, (x0, y0, x1, y1))
    assert zoomed_hits >= 3, f"the zoomed pass read only {zoomed_hits} of {len(cases)} small cards"
    assert one_pass_hits < zoomed_hits, "the one-pass reader reads these as well: the cases no longer test the zoom"


def test_a_12_megapixel_photo_is_read_reduced_and_its_boxes_are_in_the_files_pixels(reader, tmp_path):
    """A phone-camera-sized JPEG is decoded at a reduced scale (max_side): the same number as reading every
    pixel, and the boxes in the file's own pixels."""
    label = _labels()[0]
    small = Image.open(EXAMPLES / label["file"]).convert("RGB")
    k = 4032 / max(small.size)
    big_path = tmp_path / "big.jpg"
    small.resize((round(small.width * k), round(small.height * k)), Image.BICUBIC).save(big_path, quality=92)
    every_pixel = CardReader(max_side=None).read(big_path)
    reduced = reader.read(big_path)
    assert reduced.number == label["number"] == every_pixel.number
    assert reader.max_side == 1600
    for got, ref in zip(reduced.boxes["number"], every_pixel.boxes["number"]):
        # the same field, in the 4032-px file's coordinates (one detector cell is ~10 px there)
        assert np.allclose(got.box, ref.box, atol=0.02 * max(small.size) * k), (got.box, ref.box)
    assert reduced.boxes["number"] and max(b.box[2] for b in reduced.boxes["number"]) > 2 * max(small.size)


def _tilted(label: dict, angle: float) -> Image.Image:
    """A bundled example turned by `angle` degrees (counter-clockwise) on a grey frame: a card held tilted."""
    img = Image.open(EXAMPLES / label["file"]).convert("RGB")
    return img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(110, 110, 110))


def test_turned_reads_find_numbers_on_cards_tilted_past_the_detectors_training(reader):
    """Tilted 34 degrees, past the 20 the detector learnt: where neither unturned read shows the number, the
    photo turned by `turn_angles` does; such a number is flagged for review and boxed in the photo's pixels."""
    from dataclasses import replace

    from pocketocr.tasks.card.post import DecodeConfig
    unturned = CardReader(config=replace(DecodeConfig(), turn_angles=()))
    turned_hits = unturned_hits = 0
    for label in _labels():
        for angle in (-34.0, 34.0):
            photo = _tilted(label, angle)
            plain, r = unturned.read(photo), reader.read(photo)
            unturned_hits += plain.number == label["number"]
            turned_hits += r.number == label["number"]
            if plain.number is None and r.number is not None:
                assert r.needs_review and r.confidence["number"] >= reader.config.turn_confidence
                for b in r.boxes["number"]:
                    x0, y0, x1, y1 = b.box
                    assert -5 <= x0 < x1 <= photo.width + 5 and -5 <= y0 < y1 <= photo.height + 5, b.box
    n = 2 * len(_labels())
    assert turned_hits >= n - 2, f"turned reads: {turned_hits} of {n}"
    assert unturned_hits <= turned_hits - 4, f"unturned {unturned_hits}, turned {turned_hits}: the cases test nothing"


def test_no_turned_reads_without_a_marked_number(reader, monkeypatch):
    """A frame where the detector marks no number field (no card in view) costs one pass, not the turned ones."""
    calls = []
    inner = reader._read_pass
    monkeypatch.setattr(reader, "_read_pass",
                        lambda img, offset, gray=None, turned=None: calls.append(turned) or inner(img, offset, gray, turned))
    assert reader.read(np.full((480, 640, 3), 200, np.uint8)).number is None
    assert calls == [None]


def test_video_frames_read_turned_on_one_frame_in_turn_every(reader, monkeypatch):
    """feed(): a card the unturned reads cannot read (tilted 34 degrees) is read turned on frames 0, 4, 8, ...
    only, so that unreadable frames keep the camera's pace; read() always turns."""
    photo = next(p for p in (_tilted(label, a) for label in _labels() for a in (34.0, -34.0))
                 if reader.read(p, turn=False).number is None and reader.read(p).number is not None)
    turned_frames = []
    inner = reader._read_pass

    def spy(img, offset, gray=None, turned=None):
        if turned is not None:
            turned_frames.append(frame)
        return inner(img, offset, gray, turned)

    monkeypatch.setattr(reader, "_read_pass", spy)
    reader.reset()
    for frame in range(6):
        reader.feed(photo)
    assert sorted(set(turned_frames)) == [0, 4], turned_frames
    assert len(reader._history) == 2  # the number voted from the two turned frames only
    reader.reset()


def test_pick_turned_needs_agreeing_turned_reads():
    """A turned read's number is shown only when `votes` turned reads show it at `min_confidence` or more; the
    surest of them is taken, flagged for review."""
    from pocketocr.tasks.card.post import NumberChoice
    from pocketocr.tasks.card.pre import DetMeta
    from pocketocr.tasks.card.predictor import _Pass, pick_turned

    def p(number, conf):
        return _Pass(NumberChoice(number, conf, False, False), [], None, 0.0, None, False, np.zeros((5, 1, 1)),
                     DetMeta(1.0, (1, 1)), (0, 0), True)

    none = p(None, 0.3)
    assert pick_turned(none, [p("4111111111111111", 0.99), p(None, 0.2)], 0.45, 2) is none
    assert pick_turned(none, [p("4111111111111111", 0.99), p("4111111111111112", 0.99)], 0.45, 2) is none
    assert pick_turned(none, [p("4111111111111111", 0.99), p("4111111111111111", 0.40)], 0.45, 2) is none
    got = pick_turned(none, [p("4111111111111111", 0.7), p("4000000000000002", 0.95), p("4111111111111111", 0.8)],
                      0.45, 2)
    assert got.choice.number == "4111111111111111" and got.choice.confidence == 0.8 and got.choice.needs_review
    assert pick_turned(none, [p("4111111111111111", 0.6)], 0.45, 1).choice.number == "4111111111111111"


def test_a_date_under_its_label_is_read_when_the_detector_marks_the_label(reader):
    """A generated render (data version 2) whose "VALID THRU" label sits above the date: the detector marks the
    label as the expiry, which reads no date even from the longer crop; the crop below it reads the date."""
    from dataclasses import replace

    from pocketocr.tasks.card.post import DecodeConfig
    synth = pytest.importorskip("pocketocr.training.card.synth")
    s = synth.make_sample(8 * 1_000_003 + 584, version=2)  # image 584 of the seed-8 validation set
    photo = s.image.convert("RGB")
    assert CardReader(config=replace(DecodeConfig(), expiry_below=(0.0, 0.0))).read(photo).expiry is None
    r = reader.read(photo)
    assert r.expiry == s.expiry and r.confidence["expiry"] >= reader.config.expiry_retry_confidence
    # boxed where the date is printed, not on the label
    (box,) = r.boxes["expiry"]
    _, ys = zip(*s.expiry_quad)
    cy = (box.box[1] + box.box[3]) / 2
    assert min(ys) <= cy <= max(ys), (box.box, s.expiry_quad)
