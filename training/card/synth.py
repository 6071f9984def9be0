"""Synthetic payment-card photos with exact labels: the card generator's public entry points.

`make_sample(seed, version=...)` is a pure function of its seed and data version, so a dataset is fixed by
(base seed, count, version), and
`write_dataset` writes the evaluation folder format (DEVELOPERS.md): images/ + labels.jsonl, with the
slice keys style, scene, layout, brand and length, the reading conditions digit_px, blur and glare
(scene.py `_conditions`), plus grouping and the field quads.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image
from pocketocr.tasks.card.rules import BRANDS, brand_row

from .face import render_face
from .numbers import (
    GENERATOR_BRANDS,
    OTHER_PREFIX_RATE,
    other_prefix,
    sample_expiry,
    sample_grouping,
    sample_number,
)
from .scene import compose_scene

__all__ = ["DATA_VERSIONS", "LATEST", "CardSample", "make_sample", "version_tag", "write_dataset", "write_grid"]

# What each data version adds. A recipe names the version its models were trained on, and an old version
# keeps drawing exactly the same images, so shipped models stay reproducible while the generator grows.
DATA_VERSIONS = {
    1: "the generator of card models v1-v3",
    2: "expiry also at the right end and on the holder-name row (label above), holder labels, "
       "tighter stacked lines",
    3: "embossing as on real cards: a bevel scaled to the digit size, stronger light and shadow, bolder strokes",
    4: "no logo, brand word or bank name over the number or expiry, and no knockout font (digits in filled "
       "boxes): faults of versions 1-3 seen in the failure gallery (of 600 version-3 faces, 73 had a logo "
       "touching a field and 32 a knockout number); and Farrington-7B-like digits (farrington.py) for about "
       "half of the embossed numbers and some flat ones",
    5: "version 4, and: 15% of the photos held 20-35 degrees off level (`tilt_sample`; versions 1-4 tilt up to 20, "
       "the real card_029 is at about 30), labels up to 0.65 of the date's size, and 40% of the dates printed in "
       "a face other than the number's in a squared display face (the real card_014 / card_017: the detector "
       "marked the \"EXPIRES\" label above such a date instead of the date)",
    6: "version 5, and: about a third of the cards that print a VALID FROM date beside the expiry print the two "
       "dates with no labels at all (the real card_024: \"09/22  04/33\"; a `dates` slice: pair_unlabelled, pair, "
       "one, no_expiry)",
    7: "version 6, and: a quarter of the numbers printed with other leading digits (`numbers.other_prefix`: "
       "domestic schemes' prefixes such as 9704, 8600, 9860, 5061, 6500, or any issuer's), the same length; a "
       "`prefix` slice (drawn, domestic, other) and brands labelled by the SDK's whole table",
}
LATEST = max(DATA_VERSIONS)


def version_tag(version: int) -> str:
    """The part of a rendered-data folder name that says its version: none for version 1, whose folders
    were named before versions existed (so their caches are still found), else "_v<N>"."""
    return "" if version == 1 else f"_v{version}"


@dataclass
class CardSample:
    image: Image.Image
    number: str
    expiry: str | None
    grouping: tuple[int, ...]
    number_quads: list
    number_lines: list[str]
    expiry_quad: list | None
    card_quad: list
    slices: dict


def make_sample(seed: int, scene: str | None = None, version: int = LATEST,
                renumber: Callable[[str], str] | None = None) -> CardSample:
    """One synthetic card photo; the same seed and version always give the same image and labels.

    `renumber` maps the drawn number to another of the same length, printed in its place with the grouping drawn
    for it: the same card, scene and conditions with other digits (paired sets, `training/card/prefix_sets.py`)."""
    if version not in DATA_VERSIONS:
        raise ValueError(f"unknown card data version {version}; known: {sorted(DATA_VERSIONS)}")
    rng = random.Random(seed)
    number = sample_number(rng)
    grouping = sample_grouping(rng, number)
    prefix = "drawn"
    if version >= 7:  # its own random stream, as version 5's tilt: the card and scene are version 6's
        prefix_rng = random.Random(f"v7-prefix-{seed}")
        if prefix_rng.random() < OTHER_PREFIX_RATE:
            number, prefix = other_prefix(prefix_rng, number)
    if renumber is not None:
        drawn, number = number, renumber(number)
        if len(number) != len(drawn) or not number.isdigit():
            raise ValueError(f"renumber must keep the number's {len(drawn)} digits")
    expiry = sample_expiry(rng) if rng.random() < 0.9 else None
    vertical = rng.random() < 0.1
    face = render_face(rng, number, grouping, expiry, vertical=vertical, version=version)
    image, labels = compose_scene(rng, face, kind=scene)
    # versions 1-6 label brands by the rows the generator draws, as they always did
    brand = brand_row(number, BRANDS if version >= 7 else GENERATOR_BRANDS)
    slices = {"style": face.style, "scene": labels["scene"], "layout": face.layout,
              "brand": getattr(brand, "name", "other"), "length": str(len(number))}
    if version >= 7:
        slices["prefix"] = prefix
    for key in ("expiry_place", "expiry_face", "dates"):  # versions 2 / 5 / 6 on: where, in what face, beside what
        if key in face.extra:
            slices[key] = face.extra[key]
    slices.update(labels["conditions"])  # digit_px, blur, glare: how hard the number is to read
    sample = CardSample(image, number, expiry, grouping, labels["number_quads"], face.number_lines,
                        labels["expiry_quad"], labels["card_quad"], slices)
    if version >= 5:  # its own random stream: the face and the scene are version 4's, drawn as before
        tilt_rng = random.Random(f"v5-tilt-{seed}")
        if tilt_rng.random() < 0.15:
            return tilt_sample(sample, tilt_rng, 20.0, 35.0)
        sample.slices["tilt"] = "0-20"
    return sample


def tilt_sample(s: CardSample, rng: random.Random, lo: float, hi: float) -> CardSample:
    """The sample turned about its centre so that its number line lies `lo`-`hi` degrees (either way, drawn from
    `rng`) off the nearer image axis, onto a grey frame just large enough, its quads turned with it and a `tilt`
    slice ("20-25", ...). The generator tilts cards up to 20 degrees; people hold them further off, and the reader's
    turned reads are measured on such photos (docs/export.md, "Turned reads")."""
    (x0, y0), (x1, y1) = s.number_quads[0][0], s.number_quads[0][1]
    now = math.degrees(math.atan2(y1 - y0, x1 - x0))
    off_axis = (now + 45) % 90 - 45  # the line's angle from the nearer axis, in [-45, 45)
    target = rng.choice((-1, 1)) * rng.uniform(lo, hi)
    a = math.radians(off_axis - target)  # counter-clockwise on screen, as PIL's rotate
    c, sn = math.cos(a), math.sin(a)
    w, h = s.image.size
    out_w, out_h = math.ceil(w * abs(c) + h * abs(sn)), math.ceil(w * abs(sn) + h * abs(c))

    def turn(p):  # photo point -> turned-photo point (y down)
        dx, dy = p[0] - w / 2, p[1] - h / 2
        return [round(dx * c + dy * sn + out_w / 2, 1), round(-dx * sn + dy * c + out_h / 2, 1)]

    # AFFINE maps each output point back to its source point: the inverse of `turn`
    data = (c, -sn, w / 2 - c * out_w / 2 + sn * out_h / 2, sn, c, h / 2 - sn * out_w / 2 - c * out_h / 2)
    image = s.image.convert("RGB").transform((out_w, out_h), Image.AFFINE, data, Image.BICUBIC, fillcolor=(120, 120, 120))
    band = int(abs(target) // 5 * 5)
    return replace(s, image=image, number_quads=[[turn(p) for p in q] for q in s.number_quads],
                   expiry_quad=[turn(p) for p in s.expiry_quad] if s.expiry_quad else None,
                   card_quad=[turn(p) for p in s.card_quad], slices={**s.slices, "tilt": f"{band}-{band + 5}"})


def write_dataset(out_dir: Path, n: int, seed: int, progress: bool = True, version: int = LATEST,
                  tilt: tuple[float, float] | None = None, renumber: Callable[[str], str] | None = None) -> Path:
    """Write `n` samples as images/NNNNN.jpg + labels.jsonl (the evaluation folder format); with `tilt` (lo, hi),
    each turned `lo`-`hi` degrees off level (`tilt_sample`, its own random stream from `seed`); `renumber` as in
    `make_sample`."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    it = range(n)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"cards -> {out_dir}", unit="img")
    with open(out_dir / "labels.jsonl", "w") as f:
        for i in it:
            s = make_sample(seed * 1_000_003 + i, version=version, renumber=renumber)
            if tilt is not None:
                s = tilt_sample(s, random.Random(f"tilt-{seed}-{i}"), *tilt)
            name = f"images/{i:05d}.jpg"
            s.image.save(out_dir / name, quality=92)
            row = {"file": name, "number": s.number, "expiry": s.expiry, **s.slices,
                   "grouping": "-".join(map(str, s.grouping)), "number_quads": s.number_quads,
                   "expiry_quad": s.expiry_quad, "card_quad": s.card_quad}
            f.write(json.dumps(row) + "\n")
    return out_dir


def write_grid(path: Path, seeds: list[int], cols: int = 4, cell: tuple[int, int] = (400, 300),
               draw_labels: bool = True, version: int = LATEST) -> Path:
    """A contact sheet of samples with their field quads drawn, for a person to look at."""
    from PIL import ImageDraw

    rows = (len(seeds) + cols - 1) // cols
    grid = Image.new("RGB", (cols * cell[0], rows * cell[1]), "white")
    for i, seed in enumerate(seeds):
        s = make_sample(seed, version=version)
        im = s.image.copy()
        if draw_labels:
            d = ImageDraw.Draw(im)
            for q in s.number_quads:
                d.polygon([tuple(p) for p in q], outline=(0, 255, 0))
            if s.expiry_quad:
                d.polygon([tuple(p) for p in s.expiry_quad], outline=(255, 0, 255))
        im.thumbnail(cell)
        grid.paste(im, ((i % cols) * cell[0], (i // cols) * cell[1]))
        ImageDraw.Draw(grid).text(((i % cols) * cell[0] + 3, (i // cols) * cell[1] + 3),
                                  f"{s.number} {s.expiry} {s.slices['style']}", fill=(255, 0, 0))
    path = Path(path)
    grid.save(path)
    return path
