"""LiteRT (TFLite) backend: ai-edge-litert, or tflite-runtime as a fallback import.

Metadata comes from the model card JSON next to the file (`<name>.json`), since TFLite files carry
no free-form key/value metadata we can rely on across converters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..zoo import model_card_path

__all__ = ["LiteRTBackend"]


def _interpreter_cls():
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found]

        return Interpreter
    except ImportError:
        raise ModelError("the tflite backend needs ai-edge-litert: pip install 'pocketocr[tflite]'") from None


class LiteRTBackend:
    def __init__(self, path: Path, threads: int | None = None):
        self.path = Path(path)
        try:
            self._it = _interpreter_cls()(model_path=str(self.path), num_threads=threads or 1)
            self._it.allocate_tensors()
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - LiteRT raises RuntimeError, ValueError and its own types
            raise ModelError(f"{self.path}: cannot load TFLite model ({str(exc).splitlines()[0][:200]})") from None
        self._inputs = self._it.get_input_details()
        self._outputs = self._it.get_output_details()
        card = model_card_path(self.path)
        self._meta = {str(k): str(v) for k, v in json.loads(card.read_text()).get("metadata", {}).items()} \
            if card.exists() else {}

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = next(iter(feeds.values()))
        d = self._inputs[0]
        if list(d["shape"]) != list(x.shape):
            self._it.resize_tensor_input(d["index"], list(x.shape))
            self._it.allocate_tensors()
            self._inputs = self._it.get_input_details()
            d = self._inputs[0]
        if d["dtype"] in (np.int8, np.uint8):  # int8 input: quantise with the model's own parameters
            scale, zero = d["quantization"]
            info = np.iinfo(d["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(d["dtype"])
        self._it.set_tensor(d["index"], x)
        self._it.invoke()
        outs = []
        for o in self._outputs:
            y = self._it.get_tensor(o["index"])
            if o["dtype"] in (np.int8, np.uint8):
                scale, zero = o["quantization"]
                y = (y.astype(np.float32) - zero) * scale
            outs.append(y)
        return outs

    def metadata(self) -> dict[str, str]:
        return self._meta

    def input_names(self) -> list[str]:
        return [d["name"] for d in self._inputs]

    def input_shape(self) -> list[int | None]:
        d = self._inputs[0]
        return [int(v) if v >= 0 else None for v in d.get("shape_signature", d["shape"])]
