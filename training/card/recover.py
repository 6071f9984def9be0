"""Recover a float recogniser checkpoint from a shipped int8 ONNX file.

The float checkpoints of the v1-v7 card models were not kept (each training machine's `runs/` went with it);
the int8 ONNX files hold every weight: the export folds each BatchNorm into its convolution, quantizes the
trunk's weights per channel (DequantizeLinear of int8 values) and keeps the first and last convolutions float.
`recogniser_from_int8` rebuilds `CardRec` from those: each convolution takes the file's (dequantized) weights
and each BatchNorm becomes "add the folded bias", so the float network computes what the file computes up to
its activation rounding, and exporting it again gives the same weights.

    python -m pocketocr.training.card.recover sdk/pocketocr/models/card_rec.int8.onnx runs/card/card_rec.pt

(how v8's recogniser checkpoint, v7's recogniser, came back: docs/export.md, "v8").
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
from pocketocr.tasks.card.pre import PreSpec
from torch import nn

from ..int8_weights import conv_weights, load_folded_conv, recovery_main
from .models import CardRec, rec_arch_kwargs

__all__ = ["conv_weights", "main", "recogniser_from_int8"]


def recogniser_from_int8(path: Path, recipe: dict, n_classes: int) -> CardRec:
    """`CardRec` (the shape `recipe` names) carrying the weights of the int8 ONNX recogniser at `path`."""
    rec = CardRec(n_classes=n_classes, **rec_arch_kwargs(recipe)).eval()
    layers = [m for m in rec.body if isinstance(m, nn.Sequential)] + [rec.cls]  # conv-BN-ReLU blocks, classifier
    weights = conv_weights(onnx.load(str(path)))
    if len(weights) != len(layers):
        raise ValueError(f"{path} has {len(weights)} convolutions; the recipe's recogniser has {len(layers)}")
    for layer, (_, w, b) in zip(layers, weights):
        conv, bn = (layer[0], layer[1]) if isinstance(layer, nn.Sequential) else (layer, None)
        load_folded_conv(conv, bn, w, b, str(path))
    return rec


def _rebuild(path: Path, card: dict) -> tuple[CardRec, dict]:
    spec = PreSpec()
    return (recogniser_from_int8(path, card["training"]["recipe"], len(spec.vocab) + 1),
            {"arch": "card_rec", "spec": dataclasses.asdict(spec)})


def main(argv: list[str] | None = None) -> int:
    return recovery_main(argv, "card_rec.pt", _rebuild)


if __name__ == "__main__":
    raise SystemExit(main())
