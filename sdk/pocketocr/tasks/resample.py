"""Resizes whose pixels do not depend on the Pillow version, and that the browser port (pil.ts) computes.

Pillow resizes in two passes through an 8-bit image, horizontal then vertical. Pillow 13 runs some two-axis
resizes vertical pass first, chosen by shape (letterboxing a 1:3 portrait photo is one), and the pixels change.
Two single-axis calls leave no order to choose: the result is the horizontal-first one on every version.
"""

from __future__ import annotations

from PIL import Image

__all__ = ["resize_hv"]


def resize_hv(img: Image.Image, size: tuple[int, int], resample: int) -> Image.Image:
    """`img.resize(size, resample)` as its horizontal pass, then its vertical pass."""
    w, h = size
    if img.width != w and img.height != h:
        img = img.resize((w, img.height), resample)
    return img.resize((w, h), resample)
