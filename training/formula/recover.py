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

import argparse
import dataclasses
import json
from pathlib import Path

import onnx
from torch import nn

from pocketocr.tasks.formula.pre import PreSpec
from pocketocr.zoo import sha256_of

from ..common import save_checkpoint
from ..int8_weights import conv_weights, load_folded_conv
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="float formula_det.pt from an int8 ONNX detector and its model card")
    ap.add_argument("onnx", type=Path, help="formula_det.int8.onnx (its model card <file>.json beside it)")
    ap.add_argument("out", type=Path, help="checkpoint to write")
    args = ap.parse_args(argv)
    card = json.loads(Path(f"{args.onnx}.json").read_text())
    recipe, training = card["training"]["recipe"], card["training"]
    spec = PreSpec.from_metadata(card["metadata"])
    det = detector_from_int8(args.onnx, float(recipe.get("width", 1.0)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, model=det.state_dict(), arch="formula_det", width=float(recipe.get("width", 1.0)),
                    epoch=training.get("best_epoch"), recipe=recipe, recipe_hash=training["recipe_hash"],
                    spec=dataclasses.asdict(spec), history=training.get("history", []),
                    recovered_from={"file": args.onnx.name, "sha256": sha256_of(args.onnx), "version": card["version"]})
    print(f"wrote {args.out} from {args.onnx.name} ({card['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
