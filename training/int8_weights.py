"""Float weights back out of an int8 ONNX file, for the recovery tools of both tasks (card/recover.py,
formula/recover.py): the export folds each BatchNorm into its convolution and quantizes weights per channel
(DequantizeLinear of int8 values), keeping some convolutions float; this reads every convolution's weight and
bias as float32 and loads them into a network whose BatchNorms then only add the folded bias."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

__all__ = ["conv_weights", "load_folded_conv"]


def conv_weights(model: onnx.ModelProto) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(module path, weight, bias) of each Conv node in graph order, as float32 (dequantized where the file
    quantized). The module path comes from the node name the PyTorch exporter gives; it is "" for a node named
    otherwise."""
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
