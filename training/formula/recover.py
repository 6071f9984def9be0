"""Recover a float formula-detector checkpoint from a shipped int8 ONNX file.

The float checkpoint of formula v4 was not kept (its training machine's `runs/` went with it), so a
fine-tune had to start with a 2.5-hour retrain. The int8 ONNX file holds every weight: each BatchNorm folded
into its convolution, the trunk quantized per channel, the `prob` and `box` convolutions float.
`detector_from_int8` rebuilds `FormulaDet` from them, matching each Conv node to its module by the name the
exporter gave it, so the float network computes what the file computes up to its activation rounding.

    python -m pocketocr.training.formula.recover sdk/pocketocr/models/formula_det.int8.onnx \
        training/checkpoints/formula/formula_det.pt

The checkpoint is what `pocketocr train formula` writes (`formula_det.pt`), plus `recovered_from`; copy it into a
run folder to export it (`pocketocr export formula --run DIR`) or to start a fine-tune from it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
from pocketocr.tasks.formula.pre import PreSpec
from torch import nn

from ..int8_weights import conv_weights, load_folded_conv, recovery_main
from .models import FormulaDet

__all__ = ["detector_from_int8", "main"]


def detector_from_int8(path: Path, width: float) -> FormulaDet:
    """`FormulaDet(width)` carrying the weights of the int8 ONNX detector at `path`."""
    det = FormulaDet(width).eval()
    modules = dict(det.named_modules())
    weights = conv_weights(onnx.load(str(path)))
    convs = {n for n, m in modules.items() if isinstance(m, nn.Conv2d)}
    named = {name for name, _, _ in weights}
    if named != convs or len(weights) != len(convs):
        raise ValueError(f"{path}: its convolutions ({len(weights)}) are not those of FormulaDet(width={width}) "
                         f"({len(convs)}); missing {sorted(convs - named)[:3]}, unknown {sorted(named - convs)[:3]}")
    for name, w, b in weights:
        parent, _, idx = name.rpartition(".")
        seq = modules.get(parent)
        # conv_bn_relu: Sequential(Conv, BatchNorm, ReLU); a bare Conv (prob, box) keeps its own bias
        bn = seq[int(idx) + 1] if isinstance(seq, nn.Sequential) and idx.isdigit() else None
        load_folded_conv(modules[name], bn if isinstance(bn, nn.BatchNorm2d) else None, w, b, f"{path} {name}")
    return det


def _rebuild(path: Path, card: dict) -> tuple[FormulaDet, dict]:
    width = float(card["training"]["recipe"].get("width", 1.0))
    return (detector_from_int8(path, width),
            {"arch": "formula_det", "width": width, "epoch": card["training"].get("best_epoch"),
             "spec": dataclasses.asdict(PreSpec.from_metadata(card["metadata"]))})


def main(argv: list[str] | None = None) -> int:
    return recovery_main(argv, "formula_det.pt", _rebuild)


if __name__ == "__main__":
    raise SystemExit(main())
