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

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from pocketocr.tasks.card.pre import PreSpec
from pocketocr.zoo import sha256_of

from ..common import save_checkpoint
from .models import CardRec, rec_arch_kwargs

__all__ = ["conv_weights", "recogniser_from_int8", "main"]


def conv_weights(model: onnx.ModelProto) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) of each Conv node in graph order, as float32 (dequantized where the file quantized)."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    made_by = {o: n for n in model.graph.node for o in n.output}

    def value(name: str) -> np.ndarray:
        if name in inits:
            return inits[name].astype(np.float32)
        node = made_by[name]
        if node.op_type != "DequantizeLinear":
            raise ValueError(f"convolution input {name} comes from {node.op_type}, not a constant")
        q = inits[node.input[0]].astype(np.float32)
        scale = inits[node.input[1]].astype(np.float32)
        zero = inits[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.zeros_like(scale)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        if scale.ndim:  # per channel, along `axis`
            shape[axis] = -1
        return (q - zero.reshape(shape)) * scale.reshape(shape)

    return [(value(n.input[1]), value(n.input[2])) for n in model.graph.node if n.op_type == "Conv"]


def recogniser_from_int8(path: Path, recipe: dict, n_classes: int) -> CardRec:
    """`CardRec` (the shape `recipe` names) carrying the weights of the int8 ONNX recogniser at `path`."""
    rec = CardRec(n_classes=n_classes, **rec_arch_kwargs(recipe)).eval()
    layers = [m for m in rec.body if isinstance(m, nn.Sequential)] + [rec.cls]  # conv-BN-ReLU blocks, classifier
    weights = conv_weights(onnx.load(str(path)))
    if len(weights) != len(layers):
        raise ValueError(f"{path} has {len(weights)} convolutions; the recipe's recogniser has {len(layers)}")
    with torch.no_grad():
        for layer, (w, b) in zip(layers, weights):
            conv = layer[0] if isinstance(layer, nn.Sequential) else layer
            if tuple(conv.weight.shape) != w.shape:
                raise ValueError(f"{path}: a convolution of shape {w.shape} where the recipe has "
                                 f"{tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(w))
            if conv.bias is not None:
                conv.bias.copy_(torch.from_numpy(b))
            else:  # the BatchNorm after it adds the folded bias and nothing else
                bn = layer[1]
                bn.weight.fill_(1.0)
                bn.bias.copy_(torch.from_numpy(b))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="float card_rec.pt from an int8 ONNX recogniser and its model card")
    ap.add_argument("onnx", type=Path, help="card_rec.int8.onnx (its model card <file>.json beside it)")
    ap.add_argument("out", type=Path, help="checkpoint to write")
    args = ap.parse_args(argv)
    card = json.loads(Path(f"{args.onnx}.json").read_text())
    recipe, spec = card["training"]["recipe"], PreSpec()
    rec = recogniser_from_int8(args.onnx, recipe, len(spec.vocab) + 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out, model=rec.state_dict(), arch="card_rec", recipe=recipe,
                    recipe_hash=card["training"]["recipe_hash"], spec=dataclasses.asdict(spec), history=card["training"]["history"],
                    recovered_from={"file": args.onnx.name, "sha256": sha256_of(args.onnx), "version": card["version"]})
    print(f"wrote {args.out} from {args.onnx.name} ({card['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
