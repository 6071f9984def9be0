"""The shipped models: found through their model cards (`<model file>.json`) in `pocketocr/models/`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelError

__all__ = ["MODELS_DIR", "ModelInfo", "default_model", "list_models", "model_card_path", "sha256_of"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
_SUFFIX_BACKEND = {".onnx": "onnx", ".ort": "onnx", ".tflite": "tflite"}


@dataclass(frozen=True)
class ModelInfo:
    name: str            # e.g. "card_det"
    task: str            # "card" | "formula"
    role: str            # "det" | "rec"
    format: str          # "onnx" | "ort" | "tflite"
    precision: str       # "int8" | "fp32"
    path: Path
    size_bytes: int
    sha256: str          # recorded in the model card (checked by `pocketocr models --verify`)
    version: str
    metrics: dict = field(default_factory=dict, compare=False, repr=False)  # the card's, as read by list_models

    def to_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "role": self.role, "format": self.format,
                "precision": self.precision, "path": str(self.path), "size_bytes": self.size_bytes,
                "sha256": self.sha256, "version": self.version}


def model_card_path(model: Path) -> Path:
    """A model's card sits beside it: card_det.int8.onnx -> card_det.int8.onnx.json."""
    return Path(str(model) + ".json")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def list_models(models_dir: Path = MODELS_DIR) -> list[ModelInfo]:
    """Every model file in `models_dir` that has a model card next to it."""
    out = []
    for card_path in sorted(Path(models_dir).glob("*.json")):
        model_path = card_path.with_suffix("")  # card_det.int8.onnx.json -> card_det.int8.onnx
        if model_path.suffix not in _SUFFIX_BACKEND or not model_path.exists():
            continue
        card = json.loads(card_path.read_text())
        out.append(ModelInfo(card["name"], card["task"], card["role"], model_path.suffix.lstrip("."),
                             card.get("precision", "int8"), model_path, model_path.stat().st_size,
                             card["sha256"], card["version"], card.get("metrics", {})))
    return out


def default_model(task: str, role: str, backend: str = "onnx", models_dir: Path = MODELS_DIR) -> Path:
    """Path of the shipped model for (task, role) on `backend`, preferring int8."""
    fmt = {"onnx": "onnx", "tflite": "tflite"}.get(backend)
    if fmt is None:
        raise ModelError(f"unknown backend {backend!r} (expected 'onnx' or 'tflite')")
    found = [m for m in list_models(models_dir) if m.task == task and m.role == role and m.format == fmt]
    if not found:
        raise ModelError(f"no shipped {backend} model for {task}/{role} in {models_dir}")
    found.sort(key=lambda m: m.precision != "int8")
    return found[0].path
