"""Small helpers shared by the subcommands."""

from __future__ import annotations

import json
import sys

__all__ = [
    "add_backend",
    "add_max_side",
    "add_no_snap",
    "add_threads",
    "err",
    "formula_config",
    "max_side_kwargs",
    "report_input_error",
    "short_path",
]


def err(msg: str) -> None:
    """One line on stderr, never a traceback."""
    print(f"pocketocr: {msg}".replace("\n", " "), file=sys.stderr)


def add_threads(p) -> None:
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model (default 1)")


def add_backend(p) -> None:
    p.add_argument("--backend", choices=["onnx", "tflite"], default="onnx", help="inference backend (default onnx)")


def add_max_side(p) -> None:
    p.add_argument("--max-side", type=int, default=None, metavar="PX",
                   help="read photos at least twice PX long reduced to at least PX (default: the reader's own, 1600 "
                        "for cards, 1024 for formula pages); 0 reads every pixel")


def max_side_kwargs(args) -> dict:
    """The reader's `max_side` keyword from `--max-side`: none given keeps the reader's default, 0 is None."""
    if args.max_side is None:
        return {}
    if args.max_side < 0:
        raise ValueError(f"--max-side must be 0 or more, not {args.max_side}")
    return {"max_side": args.max_side or None}


def add_no_snap(p) -> None:
    p.add_argument("--no-snap", action="store_true",
                   help="formula: keep the boxes as the detector decodes them, not shrunk to the ink on the page")


def formula_config(args):
    """The formula detector's decoding config from `--no-snap`."""
    from ..tasks.formula.post import DecodeConfig

    return DecodeConfig(snap=not args.no_snap)


def short_path(path: str, width: int = 40) -> str:
    """A table cell for a path: shortened from the left with an ellipsis."""
    return path if len(path) <= width else "…" + path[-(width - 1):]


def report_input_error(path: str, exc: Exception, as_json: bool) -> None:
    """The batch error contract: one line on stderr, and `{"file", "error"}` (or a table row) on stdout."""
    err(str(exc))
    if as_json:
        print(json.dumps({"file": path, "error": str(exc)}), flush=True)
    else:
        print(f"{short_path(path):40} ERROR: {exc}")
