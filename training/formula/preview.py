"""A grid PNG of synthetic pages with their boxes drawn (red: embedded, blue: isolated), to look at.

`python -m pocketocr.training.formula.preview OUT.png [N] [--bank runs/formula/bank_....npz]`
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

from .bank import load_bank
from .synth import make_page

__all__ = ["sample_grid"]


def sample_grid(out: Path, n: int = 6, seed: int = 0, bank=None, thumb: int = 700) -> Path:
    bank = bank or load_bank(None, seed, 300, 150)
    tiles = []
    for i in range(n):
        s = make_page(seed * 1000 + i, bank, photo=bool(i % 2))
        img = s.image.copy()
        d = ImageDraw.Draw(img)
        for x1, y1, x2, y2, kind in s.boxes:
            d.rectangle([x1, y1, x2, y2], outline=(230, 0, 0) if kind == "embedded" else (0, 60, 230), width=2)
        img.thumbnail((thumb, thumb))
        tiles.append(img)
    cols = min(3, n)
    rows = -(-n // cols)
    grid = Image.new("RGB", (cols * thumb, rows * thumb), "white")
    for i, t in enumerate(tiles):
        grid.paste(t, ((i % cols) * thumb, (i // cols) * thumb))
    grid.save(out)
    return Path(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    bank = None
    if "--bank" in args:
        k = args.index("--bank")
        bank = load_bank(Path(args[k + 1]))
        args = args[:k] + args[k + 2:]
    sample_grid(Path(args[0]), int(args[1]) if len(args) > 1 else 6, bank=bank)
