"""`pocketocr train card|formula`: train from synthetic data (needs the [train] extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train a model from synthetic data (needs the [train] extra)")
    p.add_argument("task", choices=["card", "formula"])
    p.add_argument("--recipe", type=Path, default=None, help="recipe TOML (default: training/recipes/<task>.toml)")
    p.add_argument("--out", type=Path, default=None, help="run folder for cache, checkpoints (default runs/<task>)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming from *_last.pt")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set det_epochs=2 (repeatable)")
    p.add_argument("--only", choices=["det", "rec"], default=None, help="card: train one of the two models")
    return p


def _overrides(pairs: list[str]) -> dict:
    import tomllib

    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"] if value else None
        except tomllib.TOMLDecodeError:  # was the parser's bare "Invalid value (at line 1, column 5)"
            raise ValueError(f"--set {pair}: the value is not a TOML value; quote a string, as in "
                             f"{key.strip()}='{value}'") from None
    return out


def run(args) -> int:
    try:
        if args.task == "card":
            from ..training.card.train import RECIPE_PATH, load_recipe, train_card
        else:
            from ..training.formula.train import RECIPE_PATH, load_recipe, train_formula
    except ImportError as exc:
        err(f"training needs the [train] extra (pip install 'pocketocr[train]'): {exc}")
        return 2
    try:
        recipe = load_recipe(args.recipe or RECIPE_PATH, **_overrides(args.set))
        from ..training.common import pick_device, repo_path

        pick_device(args.device)  # a wrong --device is said at once, not after the data is rendered
        for key in ("init", "rec_init", "det_init"):  # and a missing start checkpoint, not after hours of training
            start = getattr(recipe, key, "")
            if start and not repo_path(start).is_file():
                raise ValueError(f"{key} = '{start}': no such checkpoint")
    except (ValueError, OSError) as exc:
        err(str(exc))
        return 2
    out = args.out or Path("runs") / args.task
    try:
        if args.task == "card":
            train_card(recipe, out, device=args.device, resume=not args.no_resume, only=args.only)
        else:
            train_formula(recipe, out, device=args.device, resume=not args.no_resume)
    except ValueError as exc:  # a recipe the trainer refuses (it says so before rendering anything)
        err(str(exc))
        return 2
    print(f"checkpoints in {out}")
    return 0
