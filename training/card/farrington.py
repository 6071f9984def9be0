"""Farrington-7B-like fonts for the card generator, drawn here from strokes (no free Farrington 7B exists).

Farrington 7B (ISO/IEC 7811) is the face most embossed cards print their number and expiry in: squared
digits built from straight strokes, an open-topped 4, a flat-topped 3 with a diagonal, a 7 that bends into a
vertical stem. Data versions 1-3 had only bold monospace fonts for it ("farrington_like" in fonts.py), and a
real embossed card in this face ("4012" read "4712") was among the reader's failures.

Each glyph is a few polylines on a 6 x 10 grid (y down); `build_font` strokes them at a weight, width and
slant and writes a TrueType font with fontTools, so the rest of the generator uses it as any other font.
The fonts are made on first use into a cache folder; the same arguments always give the same file.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
from pathlib import Path

__all__ = ["GLYPHS", "VARIANTS", "build_font", "farrington_fonts"]

# Polylines per character on a 6-wide, 10-tall grid, y down.
GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "0": [[(1, 0), (5, 0), (6, 1), (6, 9), (5, 10), (1, 10), (0, 9), (0, 1), (1, 0)]],
    "1": [[(1.2, 2.2), (3.4, 0), (3.4, 10)]],
    "2": [[(0, 1.2), (1, 0), (5, 0), (6, 1), (6, 4), (0, 7.4), (0, 10), (6, 10)]],
    "3": [[(0, 0), (6, 0), (2.6, 4.2), (5, 4.2), (6, 5.2), (6, 9), (5, 10), (0, 10)]],
    "4": [[(0, 0), (0, 6.6), (6, 6.6)], [(4.4, 2.8), (4.4, 10)]],
    "5": [[(6, 0), (0, 0), (0, 4.4), (5, 4.4), (6, 5.4), (6, 9), (5, 10), (0, 10)]],
    "6": [[(5.4, 0), (1, 0), (0, 1), (0, 9), (1, 10), (5, 10), (6, 9), (6, 5.4), (5, 4.4), (0, 4.4)]],
    "7": [[(0, 0), (6, 0), (6, 2.2), (2.6, 6), (2.6, 10)]],
    "8": [[(1, 0), (5, 0), (5.6, 0.6), (5.6, 4.4), (0.4, 4.4), (0.4, 0.6), (1, 0)],
          [(0, 4.4), (6, 4.4), (6, 9), (5, 10), (1, 10), (0, 9), (0, 4.4)]],
    "9": [[(6, 5.6), (1, 5.6), (0, 4.6), (0, 1), (1, 0), (5, 0), (6, 1), (6, 10), (0.6, 10)]],
    "/": [[(5.4, -0.4), (0.6, 10.4)]],
    "-": [[(1, 5), (5, 5)]],
}

# (stroke weight in grid units, width scale, slant): light and heavy embossing, condensed and wide dies.
VARIANTS: dict[str, tuple[float, float, float]] = {
    "Regular": (1.05, 1.0, 0.0),
    "Bold": (1.45, 1.0, 0.0),
    "Light": (0.75, 0.95, 0.0),
    "Condensed": (1.1, 0.82, 0.0),
    "Wide": (1.2, 1.15, 0.0),
    "Oblique": (1.1, 1.0, 0.08),
}

_UPM, _CAP = 1000, 700          # units per em; the digits' height
_ADVANCE = 8.4                  # grid units per character: 6 of glyph, 2.4 of gap


def _segment_quad(a, b, half: float) -> list[tuple[float, float]]:
    """The rectangle around segment a-b, `half` wide each side, square ends extended by `half` (so that
    the strokes of a polyline join without notches); clockwise in y-up font units."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    n = math.hypot(dx, dy) or 1.0
    ux, uy = dx / n * half, dy / n * half
    nx, ny = -uy, ux
    p = [(x0 - ux + nx, y0 - uy + ny), (x1 + ux + nx, y1 + uy + ny), (x1 + ux - nx, y1 + uy - ny),
         (x0 - ux - nx, y0 - uy - ny)]
    # clockwise for TrueType outer contours (y up): flip when the shoelace area is positive
    area = sum(p[i][0] * p[(i + 1) % 4][1] - p[(i + 1) % 4][0] * p[i][1] for i in range(4))
    return p[::-1] if area > 0 else p


def build_font(path: Path, weight: float, width: float, slant: float, name: str = "Regular") -> Path:
    """Write the stroke font as a TrueType file at `path` and return it."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    unit = _CAP / 10.0
    half = weight / 2 * unit
    adv = round(_ADVANCE * unit * width)
    order = [".notdef", "space"] + [f"g{ord(c):04x}" for c in GLYPHS]
    fb = FontBuilder(_UPM, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({32: "space", **{ord(c): f"g{ord(c):04x}" for c in GLYPHS}})
    glyphs, metrics = {}, {}
    for gname in order:
        pen = TTGlyphPen(None)
        ch = chr(int(gname[1:], 16)) if gname.startswith("g") else None
        for line in GLYPHS.get(ch, []):
            for a, b in itertools.pairwise(line):
                pts = [((x * width + 1.2) * unit, (10 - y) * unit) for x, y in (a, b)]
                quad = _segment_quad(pts[0], pts[1], half)
                quad = [(round(x + slant * y), round(y)) for x, y in quad]
                pen.moveTo(quad[0])
                for q in quad[1:]:
                    pen.lineTo(q)
                pen.closePath()
        glyphs[gname] = pen.glyph()
        metrics[gname] = (adv, 0)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=_CAP + 150, descent=-150)
    family = "PocketOCR Farrington-like"
    fb.setupNameTable({"familyName": family, "styleName": name})
    fb.setupOS2(sTypoAscender=_CAP + 150, sTypoDescender=-150, usWinAscent=_CAP + 150, usWinDescent=150)
    fb.setupPost()
    # fixed timestamps (1904 epoch zero): the same arguments give the same bytes
    fb.font["head"].created = fb.font["head"].modified = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fb.save(str(tmp))
    os.replace(tmp, path)  # atomic: parallel renderers may build the same file
    return path


def _cache_dir() -> Path:
    # the user cache where pocketocr already keeps what it generates (requirements.py: synthetic datasets)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pocketocr" / "fonts"


@functools.cache
def farrington_fonts() -> tuple[str, ...]:
    """Paths of the generated fonts, one per variant, built into the cache folder when missing."""
    out = []
    for name, (weight, width, slant) in VARIANTS.items():
        # named by what draws it, so a changed glyph or variant never reads a stale file
        key = hashlib.sha256(repr((GLYPHS, weight, width, slant, _UPM, _CAP, _ADVANCE)).encode()).hexdigest()[:10]
        path = _cache_dir() / f"PocketOCRFarrington-{name}-{key}.ttf"
        if not path.exists():
            build_font(path, weight, width, slant, name)
        out.append(str(path))
    return tuple(out)
