"""Model cards: the JSON written beside each exported model file (DEVELOPERS.md, "Shipped models").

All four exporters (the release `pocketocr export card|formula` and the multi-format `--to` paths) write their
cards here, so a file's identity, training record and runtime read the same whichever path wrote it. Each
exporter adds what it measured: metrics, quantization notes, speed.
"""

from __future__ import annotations

import json
from pathlib import Path

from pocketocr.zoo import model_card_path, sha256_of

__all__ = ["ARCHITECTURES", "TRAINING_DATA", "param_count", "write_model_card"]

ARCHITECTURES = {
    "card_det": "CardDet (MobileNet-style FPN, stride 4)",
    "card_rec": "CardRec (conv-only CTC, 32x384 grey)",
    "formula_det": "FormulaDet (MobileNet-style FPN, grey input, stride-4 core maps + box distances)",
}
TRAINING_DATA = {
    "card": "synthetic only (training/card); no real card images",
    "formula": "synthetic only (training/formula: mathtext formulas on rendered pages, scans and simulated "
               "photos); no real pages",
}
_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")  # BatchNorm state, not parameters


def param_count(checkpoint: dict) -> int:
    """Trained parameters in a checkpoint's state dict (BatchNorm statistics left out)."""
    return int(sum(v.numel() for k, v in checkpoint["model"].items() if not k.endswith(_BUFFERS)))


def write_model_card(path: Path, *, task: str, role: str, precision: str, version: str, checkpoint: dict,
                     recipe_hash: str, command: str, metrics: dict, metadata: dict,
                     quantization: dict | None = None, **extra) -> dict:
    """Write `path`'s model card and return it.

    `checkpoint` is the training checkpoint the file was exported from (its recipe, history, best epoch and,
    for weights rebuilt from an int8 file, where they came from); `extra` adds keys such as `speed`, `runtime`
    or `input_shape`. Identity fields (file, sha256, size) are read from the file itself.
    """
    path = Path(path)
    name = f"{task}_{role}"
    recipe = checkpoint["recipe"]
    training = {"recipe": recipe, "recipe_hash": recipe_hash, "seed": recipe.get("seed"), "command": command,
                "data": TRAINING_DATA[task], "history": checkpoint.get("history", [])}
    if checkpoint.get("epoch") is not None:
        training["best_epoch"] = checkpoint["epoch"]
    if checkpoint.get("recovered_from"):  # weights rebuilt from an int8 file (training/*/recover.py) say so
        training["recovered_from"] = checkpoint["recovered_from"]
    doc = {"name": name, "task": task, "role": role, "format": path.suffix.lstrip("."), "precision": precision,
           "version": version, "file": path.name, "sha256": sha256_of(path), "size_bytes": path.stat().st_size,
           "architecture": ARCHITECTURES[name], "params": param_count(checkpoint), "training": training,
           "quantization": quantization, "metrics": metrics, **extra, "metadata": metadata}
    model_card_path(path).write_text(json.dumps(doc, indent=2) + "\n")
    return doc
