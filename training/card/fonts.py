"""Font catalogue for the card generator.

Fonts come from Debian font packages (installed by `make test`, see the Makefile's FONT_PACKAGES) and
from matplotlib's bundled fonts. Nothing is downloaded. Missing families are skipped, so the generator
still runs with fewer fonts, but `check_fonts()` says which are missing.
"""

from __future__ import annotations

import functools
import random

import numpy as np
from PIL import ImageFont

from ..font_dirs import font_index as _index

__all__ = ["FONT_GROUPS", "check_fonts", "font_files", "is_knockout", "load_font"]

# Group -> file-name globs. "farrington" has no free original: condensed bold monospace and OCR-A are
# the closest shapes (square, evenly spaced embossing digits); the name says "-like" for that reason.
FONT_GROUPS: dict[str, list[str]] = {
    "ocr_a": ["OCRA.ttf", "OCRABold.ttf", "OCRACondensed.ttf"],
    "ocr_b": ["OCRB.otf", "OCRBL.otf", "OCRBX.otf"],
    "farrington_like": ["DejaVuSansMono-Bold.ttf", "LiberationMono-Bold.ttf", "NimbusMonoPS-Bold.otf",
                        "FreeMonoBold.ttf", "Inconsolata.otf", "JetBrainsMono-ExtraBold.ttf",
                        "RobotoCondensed-Bold.ttf", "OCRACondensed.ttf"],
    "sans": ["DejaVuSans.ttf", "DejaVuSansCondensed.ttf", "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf",
             "Roboto-Regular.ttf", "Roboto-Medium.ttf", "Roboto-Light.ttf", "RobotoCondensed-Regular.ttf",
             "Lato-Regular.ttf", "Lato-Bold.ttf", "Lato-Light.ttf", "OpenSans-Regular.ttf", "OpenSans-Semibold.ttf",
             "OpenSans-CondLight.ttf", "Carlito-Regular.ttf", "FreeSans.ttf", "NimbusSans-Regular.otf",
             "URWGothic-Book.otf", "NimbusSansNarrow-Regular.otf", "DejaVuSans-ExtraLight.ttf"],
    "serif": ["DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "Caladea-Regular.ttf", "FreeSerif.ttf",
              "NimbusRoman-Regular.otf", "C059-Roman.otf", "P052-Roman.otf", "URWBookman-Light.otf"],
    "mono": ["DejaVuSansMono.ttf", "LiberationMono-Regular.ttf", "FreeMono.ttf", "Hack-Regular.ttf",
             "JetBrainsMono-Regular.ttf", "JetBrainsMono-Light.ttf", "NimbusMonoPS-Regular.otf",
             "CourierPrime-Regular.ttf"],
    "hangul": ["NanumGothic.ttf", "NanumGothicBold.ttf", "NanumMyeongjo.ttf", "NanumBarunGothic.ttf",
               "NanumSquareR.ttf"],
    "cjk": ["wqy-microhei.ttc"],
}
_MATPLOTLIB = {"sans": ["DejaVuSans.ttf"], "serif": ["cmr10.ttf", "STIXGeneral.ttf"], "mono": ["cmtt10.ttf"]}


@functools.cache
def font_files(group: str) -> tuple[str, ...]:
    """Paths of the installed fonts in `group`; "farrington_7b" (data version 4 on) is the stroke-drawn
    Farrington-like family of farrington.py, digits and "/" only, built on first use."""
    if group == "farrington_7b":
        from .farrington import farrington_fonts

        return farrington_fonts()
    idx = _index()
    names = FONT_GROUPS[group] + _MATPLOTLIB.get(group, [])
    return tuple(idx[n] for n in names if n in idx)


@functools.lru_cache(maxsize=4096)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.cache
def is_knockout(path: str) -> bool:
    """Whether the font draws its glyphs knocked out of filled boxes (OCRBX.otf, in fonts-ocr-b: a white digit
    in a black cell). No card prints its number so; data versions 1-3 printed 32 of 600 numbers with it, a row
    of blocks that neither a reader nor a person reads as digits at card-photo sizes."""
    font = load_font(path, 40)
    for ch in "17":  # a "1" or "7" inks well under half of its box
        ink = np.asarray(font.getmask(ch), np.float32) / 255.0
        if ink.size and ink.mean() > 0.5:
            return True
    return False


def pick_font(rng: random.Random, groups: list[str], size: int, plain: bool = False) -> tuple[ImageFont.FreeTypeFont, str]:
    """A random installed font from the first groups that have any; falls back to DejaVu/PIL default.

    `plain` (data version 4 on) leaves out knockout fonts (`is_knockout`); without it the choice is what it
    always was, so older data versions draw the same images."""
    choices = [p for g in groups for p in font_files(g) if not (plain and is_knockout(p))]
    if not choices:
        choices = list(font_files("sans")) + list(font_files("mono"))
    if not choices:
        raise RuntimeError("no fonts found for the card generator: install the Debian font packages "
                           "listed in the Makefile (make fonts)")
    path = rng.choice(choices)
    return load_font(path, size), path


def check_fonts() -> dict[str, int]:
    """How many fonts of each group are installed (0 means the generator is less varied)."""
    return {g: len(font_files(g)) for g in FONT_GROUPS}
