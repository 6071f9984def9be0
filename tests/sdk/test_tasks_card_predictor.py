"""CardReader with real onnxruntime sessions on the shipped int8 models."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import pocketocr
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
