"""Small helpers shared by the subcommands."""

from __future__ import annotations

import json
import sys

__all__ = ["err", "add_threads", "add_backend", "short_path", "report_input_error"]


def err(msg: str) -> None:
    """One line on stderr, never a traceback."""
    print(f"pocketocr: {msg}".replace("\n", " "), file=sys.stderr)


def add_threads(p) -> None:
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model (default 1)")


def add_backend(p) -> None:
    p.add_argument("--backend", choices=["onnx", "tflite"], default="onnx", help="inference backend (default onnx)")


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
