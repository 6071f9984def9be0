"""Paired synthetic sets that differ only in the numbers' leading digits: do other card schemes read worse?

The same seeds are drawn three times, so every card, scene and condition is the same; the 16-digit numbers get
their first four digits replaced (the check digit redone, a non-Luhn number kept non-Luhn):

- `drawn/`: as drawn (Visa, Mastercard, ... by the generator's brand mix);
- `common/`: other international prefixes;
- `domestic/`: prefixes of domestic schemes the generator never draws (Napas, UzCard, Humo, Troy, Verve, Elo).

    python -m pocketocr.training.card.prefix_sets OUT_DIR [--n 500] [--seed 23] [--data-version 6 (the default)]
    pocketocr eval card OUT_DIR/domestic --json --samples     # then pair the rows by file name

docs/export.md, "Domestic schemes", has what these sets showed.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from pathlib import Path

from pocketocr.tasks.card.rules import luhn_check_digit, luhn_valid

from .synth import write_dataset

__all__ = ["PREFIXES", "renumber_with", "write_prefix_sets"]

# Version 6 by default: version 7 already gives a quarter of its numbers other leading digits, so its "drawn" set
# would not be the brand mix as drawn.
DEFAULT_VERSION = 6

PREFIXES: dict[str, tuple[str, ...]] = {
    "drawn": (),
    "common": ("4000", "4539", "4716", "5412", "5105", "5555", "4929", "5213"),
    "domestic": ("9704", "8600", "9860", "9792", "5061", "6362", "6500", "9418"),
}


def renumber_with(prefixes: tuple[str, ...]) -> Callable[[str], str] | None:
    """A `make_sample` renumber function: a 16-digit number gets one of `prefixes` (chosen by the number itself,
    so the same card always gets the same one); other lengths are kept. None for no prefixes."""
    if not prefixes:
        return None

    def renumber(number: str) -> str:
        if len(number) != 16:
            return number
        body = random.Random(number).choice(prefixes) + number[4:15]
        new = body + luhn_check_digit(body)
        if not luhn_valid(number):  # a specimen-style non-Luhn number stays non-Luhn
            new = body + str((int(new[-1]) + 5) % 10)
        return new

    return renumber


def write_prefix_sets(out: Path, n: int = 500, seed: int = 23, version: int = DEFAULT_VERSION,
                      progress: bool = True) -> dict[str, Path]:
    """The three paired sets under `out` (`drawn`, `common`, `domestic`), each in the evaluation folder format."""
    return {name: write_dataset(Path(out) / name, n, seed, progress=progress, version=version,
                                renumber=renumber_with(prefixes))
            for name, prefixes in PREFIXES.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pocketocr.training.card.prefix_sets", description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--data-version", type=int, default=DEFAULT_VERSION)
    args = ap.parse_args(argv)
    for name, path in write_prefix_sets(args.out, args.n, args.seed, args.data_version).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
