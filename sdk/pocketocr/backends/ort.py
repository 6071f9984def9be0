"""onnxruntime backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelError

__all__ = ["OrtBackend"]


class OrtBackend:
    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 1  # mobile-first default: one core
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._sess = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises several private exception types
            raise ModelError(f"{self.path}: cannot load ONNX model ({str(exc).splitlines()[0][:200]})") from None
        self._meta = dict(self._sess.get_modelmeta().custom_metadata_map)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self._sess.run(None, feeds)

    def metadata(self) -> dict[str, str]:
        return self._meta

    def input_names(self) -> list[str]:
        return [i.name for i in self._sess.get_inputs()]

    def input_shape(self) -> list[int | None]:
        return [d if isinstance(d, int) else None for d in self._sess.get_inputs()[0].shape]
