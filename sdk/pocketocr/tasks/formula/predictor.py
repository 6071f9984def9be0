"""Formula detector: page photo -> grey tensor -> detector -> formula boxes in source pixels.

The predictor only wires pre -> backend.run -> post; the preprocessing spec comes from the model file.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ...backends.base import Backend, open_model
from ...io import ImageInput, load_image_scaled
from ...results import Formula, FormulaResult
from ...zoo import default_model
from .post import DecodeConfig, decode, snap_to_ink
from .pre import PreSpec, prepare

__all__ = ["FormulaDetector", "detect_formulas", "formula_detector"]


class FormulaDetector:
    """Finds embedded (inline) and isolated (display) math formulas on page photos; load once, call many times.

    Args:
        det_model: detector model file (default: the shipped one for `backend`), or an open `Backend` (the
            trainer scores its torch model through this very pipeline that way).
        backend: "onnx" (onnxruntime) or "tflite" (LiteRT).
        threads: CPU threads (default 1, the mobile budget).
        config: decoding thresholds.
        max_side: a page at least twice this long is read reduced by an integer factor to at least this long
            side (a JPEG decoded at that scale; `pocketocr.io.load_image_scaled`), boxes mapped back; None
            reads every pixel. The shipped model sees pages at a 1024 px long side.

    >>> det = FormulaDetector()                      # doctest: +SKIP
    >>> [f.kind for f in det.detect("page.jpg").formulas][:3]   # doctest: +SKIP
    ['embedded', 'isolated', 'embedded']
    """

    def __init__(self, det_model: str | Path | Backend | None = None, *, backend: str = "onnx",
                 threads: int | None = None, config: DecodeConfig = DecodeConfig(), max_side: int | None = 1024):
        self.backend = backend
        self.max_side = max_side
        self.det: Backend = open_model(det_model or default_model("formula", "det", backend), threads)
        meta = self.det.metadata()
        # The preprocessing spec travels inside the model (ONNX metadata_props), not as constants here.
        self.spec = PreSpec.from_metadata(meta)
        self.config = config
        self.model_version = meta.get("version", "unknown")
        self._in = self.det.input_names()[0]
        # A model with a fixed input (the TFLite export, long_side square) gets its pages padded to it.
        hw = self.det.input_shape()[2:4]
        self._size = (hw[0], hw[1]) if len(hw) == 2 and None not in hw else None

    def detect(self, image: ImageInput) -> FormulaResult:
        """Detect formulas on one page image. Raises `ImageError` for unreadable input.

        Args:
            image: a path, encoded bytes, a PIL image or an HxWx3 uint8 RGB array. EXIF orientation applies.

        Returns:
            FormulaResult with boxes in the pixel coordinates of the (EXIF-rotated) image.
        """
        t0 = time.perf_counter()
        img, scale, (width, height) = load_image_scaled(image, self.max_side)
        grey = img if img.mode == "L" else img.convert("L")  # the model's input and the ink the boxes snap to
        x, meta = prepare(grey, self.spec, self._size)
        t1 = time.perf_counter()
        prob, box = self.det.run({self._in: x})[:2]
        t2 = time.perf_counter()
        found = snap_to_ink(decode(prob[0], box[0], meta, self.spec, self.config), np.asarray(grey), self.config)
        t3 = time.perf_counter()
        ms = lambda a, b: round((b - a) * 1000, 3)
        # boxes in the file's pixels, not the reduced page's, to 0.1 px as `decode` gives them
        boxes = [tuple(round(v / scale, 1) for v in d.box) for d in found]
        return FormulaResult([Formula(b, d.kind, d.score) for b, d in zip(boxes, found)], width, height,
                             {"pre": ms(t0, t1), "infer": ms(t1, t2), "post": ms(t2, t3), "total": ms(t0, t3)})


_DEFAULT: dict[tuple, FormulaDetector] = {}


def formula_detector(*, backend: str = "onnx", threads: int | None = None) -> FormulaDetector:
    """The shared detector for the shipped model (created on first use)."""
    key = (backend, threads)
    if key not in _DEFAULT:
        _DEFAULT[key] = FormulaDetector(backend=backend, threads=threads)
    return _DEFAULT[key]


def detect_formulas(image: ImageInput, *, backend: str = "onnx", threads: int | None = None) -> list[Formula]:
    """Box every math formula on a page photo with the shipped detector.

    Args:
        image: a path, encoded bytes, a PIL image or an HxWx3 uint8 RGB array. EXIF orientation applies.
        backend: "onnx" (default) or "tflite".
        threads: CPU threads (default 1).

    Returns:
        A list of `Formula(box=(x1, y1, x2, y2), kind, score)`, boxes in source pixels, best score first;
        kind is "embedded" (inline) or "isolated" (display, one box per line).

    Raises:
        ImageError: the input is not a readable image.
        ModelError: the model file or the backend is missing.

    >>> [f.kind for f in detect_formulas("page.jpg")][:2]   # doctest: +SKIP
    ['embedded', 'isolated']
    """
    return formula_detector(backend=backend, threads=threads).detect(image).formulas
