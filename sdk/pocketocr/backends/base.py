"""The backend interface: numpy in, numpy out, plus the model's metadata. Picked by file suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelError

__all__ = ["BACKENDS", "Backend", "open_backend", "open_model"]

BACKENDS = ("onnx", "tflite")


class Backend(Protocol):
    path: Path

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]: ...

    def metadata(self) -> dict[str, str]: ...

    def input_names(self) -> list[str]: ...

    def input_shape(self) -> list[int | None]:
        """The first input's shape; None where an axis is dynamic (a fixed-size model needs padded input)."""
        ...


def open_backend(path: Path, threads: int | None = None) -> Backend:
    """Open a model file: .onnx / .ort with onnxruntime, .tflite with LiteRT."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    if path.suffix in (".onnx", ".ort"):
        from .ort import OrtBackend

        return OrtBackend(path, threads)
    if path.suffix == ".tflite":
        from .litert import LiteRTBackend

        return LiteRTBackend(path, threads)
    raise ModelError(f"{path}: unknown model format (expected .onnx, .ort or .tflite)")


def open_model(model: str | Path | Backend, threads: int | None = None) -> Backend:
    """A model file opened with `open_backend`, or an already open `Backend` used as it is (the training and
    export code score their torch models through the SDK's readers that way)."""
    return open_backend(Path(model), threads) if isinstance(model, (str, Path)) else model
