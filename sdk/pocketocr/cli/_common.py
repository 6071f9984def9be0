"""Small helpers shared by the subcommands."""

from __future__ import annotations

import sys

__all__ = ["err", "add_threads", "add_backend"]


def err(msg: str) -> None:
    """One line on stderr, never a traceback."""
    print(f"pocketocr: {msg}".replace("\n", " "), file=sys.stderr)


def add_threads(p) -> None:
    p.add_argument("--threads", type=int, default=None, help="CPU threads per model (default 1)")


def add_backend(p) -> None:
    p.add_argument("--backend", choices=["onnx", "tflite"], default="onnx", help="inference backend (default onnx)")
