"""Float weights back out of an int8 ONNX file, for the recovery tools of both tasks (card/recover.py,
formula/recover.py): the export folds each BatchNorm into its convolution and quantizes weights per channel
(DequantizeLinear of int8 values), keeping some convolutions float; this reads every convolution's weight and
bias as float32 and loads them into a network whose BatchNorms then only add the folded bias."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:  # onnx comes with the [export] extra; training imports this module without it
    import onnx

__all__ = ["conv_weights", "load_folded_conv", "recovery_main", "reopen_batchnorm"]


def conv_weights(model: onnx.ModelProto) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(module path, weight, bias) of each Conv node in graph order, as float32 (dequantized where the file
    quantized). The module path comes from the node name the PyTorch exporter gives; it is "" for a node named
    otherwise."""
    from onnx import numpy_helper

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

    def path(node) -> str:
        # scopes name a Sequential's child "<parent>.<i>" and any other child by its attribute:
        # "/s1/s1.0/dw/dw.0/Conv" is module s1.0.dw.0
        parts = node.name.strip("/").split("/")
        if len(parts) < 2 or not parts[-1].startswith("Conv"):
            return ""
        full, prev = "", None
        for part in parts[:-1]:
            if prev is not None and part.startswith(prev + "."):
                full = full[:len(full) - len(prev)] + part
            else:
                full = f"{full}.{part}" if full else part
            prev = part
        return full

    return [(path(n), value(n.input[1]), value(n.input[2])) for n in model.graph.node if n.op_type == "Conv"]


@torch.no_grad()
def load_folded_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d | None, w: np.ndarray, b: np.ndarray, where: str) -> None:
    """Give `conv` the file's weight; the folded bias goes to the conv's own bias, or else to the BatchNorm
    after it, which then adds it and does nothing else."""
    if tuple(conv.weight.shape) != w.shape:
        raise ValueError(f"{where}: a convolution of shape {w.shape} where the network has {tuple(conv.weight.shape)}")
    conv.weight.copy_(torch.from_numpy(w))
    if conv.bias is not None:
        conv.bias.copy_(torch.from_numpy(b))
        return
    if bn is None:
        raise ValueError(f"{where}: a convolution without bias and no BatchNorm after it to hold the folded bias")
    bn.weight.fill_(1.0)
    bn.bias.copy_(torch.from_numpy(b))
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)


@torch.no_grad()
def reopen_batchnorm(model: nn.Module, batches) -> None:
    """Make a recovered network trainable: its BatchNorms only add a bias (running mean 0, variance 1 - eps,
    weight 1), right in eval mode but not in train mode, where a BatchNorm normalises by its batch, so a
    fine-tune would start from another function. Each BatchNorm gets the mean and variance of its input over
    `batches` (run in eval mode: each layer sees what the recovered network computes) and the weight and bias
    that keep its eval-mode output exactly as it was; train mode then computes about what eval mode does."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    sums: dict[nn.Module, list] = {bn: [0.0, 0.0, 0] for bn in bns}

    def add(module, inputs):
        x = inputs[0].double()
        s = sums[module]
        s[0], s[1], s[2] = s[0] + x.sum((0, 2, 3)), s[1] + (x * x).sum((0, 2, 3)), s[2] + x.numel() // x.shape[1]

    hooks = [bn.register_forward_pre_hook(add) for bn in bns]
    was_training = model.training
    model.eval()
    try:
        for x in batches:
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    for bn in bns:
        s0, s1, n = sums[bn]
        if not n:
            continue
        mean = s0 / n
        var = (s1 / n - mean * mean).clamp(min=0.0)
        # eval output a * x + c, with a = w / sqrt(rv + eps) and c = b - rm * a, kept under the new statistics
        a = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        c = bn.bias.double() - bn.running_mean.double() * a
        bn.running_mean.copy_(mean.to(bn.running_mean.dtype))
        bn.running_var.copy_(var.to(bn.running_var.dtype))
        bn.weight.copy_((a * torch.sqrt(var + bn.eps)).to(bn.weight.dtype))
        bn.bias.copy_((c + mean * a).to(bn.bias.dtype))


def recovery_main(argv: list[str] | None, what: str, rebuild: Callable[[Path, dict], tuple[nn.Module, dict]]) -> int:
    """The command line of both recovery tools: read the int8 file's model card, `rebuild(path, card)` the float
    network (and the checkpoint keys of its own), and save what training saves plus where the weights came from."""
    from pocketocr.zoo import sha256_of

    from .common import save_checkpoint

    ap = argparse.ArgumentParser(description=f"float {what} from an int8 ONNX file and its model card")
    ap.add_argument("onnx", type=Path, help="the int8 .onnx file (its model card <file>.json beside it)")
    ap.add_argument("out", type=Path, help="checkpoint to write")
    args = ap.parse_args(argv)
    card = json.loads(Path(f"{args.onnx}.json").read_text())
    model, extra = rebuild(args.onnx, card)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    training = card["training"]
    save_checkpoint(args.out, model=model.state_dict(), recipe=training["recipe"], recipe_hash=training["recipe_hash"],
                    history=training.get("history", []), **extra,
                    recovered_from={"file": args.onnx.name, "sha256": sha256_of(args.onnx), "version": card["version"]})
    print(f"wrote {args.out} from {args.onnx.name} ({card['version']})")
    return 0
