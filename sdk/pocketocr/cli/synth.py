"""`pocketocr synth card --out DIR --n N [--seed S] [--grid PNG] [--data-version V] [--tilt LO,HI]`: synthetic datasets
and grids."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("synth", help="write synthetic datasets / sample grids (needs the [train] extra)")
    p.add_argument("task", choices=["card"])
    p.add_argument("--out", type=Path, help="dataset folder to write (images/ + labels.jsonl)")
    p.add_argument("--n", type=int, default=100, help="number of images")
    p.add_argument("--seed", type=int, default=8, help="dataset seed (8 = the card validation set's seed)")
    p.add_argument("--grid", type=Path, default=None, help="also write a PNG contact sheet of samples")
    p.add_argument("--grid-n", type=int, default=16)
    p.add_argument("--data-version", type=int, default=None,
                   help="synthetic data version (default: the latest; 1 draws what card models v1-v3 trained on)")
    p.add_argument("--tilt", default=None, metavar="LO,HI",
                   help="turn each photo so its number lies LO-HI degrees off level, e.g. 20,35 (the generator "
                        "tilts cards up to 20): a check of tilted cards")
    return p


def run(args) -> int:
    try:
        from ..training.card.synth import write_dataset, write_grid
    except ImportError as exc:
        err(f"the generator needs the [train] extra (pip install 'pocketocr[train]'): {exc}")
        return 2
    from ..training.card.synth import DATA_VERSIONS, LATEST

    version = LATEST if args.data_version is None else args.data_version
    if version not in DATA_VERSIONS:
        err(f"unknown --data-version {version}; known: {sorted(DATA_VERSIONS)}")
        return 2
    tilt = None
    if args.tilt is not None:
        try:
            lo, hi = (float(v) for v in args.tilt.split(","))
        except ValueError:
            err(f"--tilt wants two angles in degrees, LO,HI (such as 20,35), not {args.tilt!r}")
            return 2
        if not 0 <= lo <= hi <= 45:
            err(f"--tilt {args.tilt}: want 0 <= LO <= HI <= 45 degrees")
            return 2
        tilt = (lo, hi)
    if not args.out and not args.grid:
        err("nothing to do: give --out DIR and/or --grid PNG")
        return 2
    if args.out:
        write_dataset(args.out, args.n, args.seed, version=version, tilt=tilt)
        print(f"wrote {args.n} images to {args.out}")
    if args.grid:
        write_grid(args.grid, [args.seed * 1_000_003 + i for i in range(args.grid_n)], version=version)
        print(f"wrote {args.grid}")
    return 0
