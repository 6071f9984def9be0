"""Pick the decoding thresholds on the synthetic validation sets (never on real pages).

Runs the model once per page, keeps the raw maps, and scores a grid of (threshold, min_score) with the
eval's matcher. `python -m pocketocr.training.formula.tune MODEL.onnx VAL_DIR [VAL_DIR ...]`
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

from pocketocr.eval.formula import load_formula_labels, match_boxes
from pocketocr.io import load_image
from pocketocr.tasks.formula.post import DecodeConfig, decode
from pocketocr.tasks.formula.predictor import FormulaDetector
from pocketocr.tasks.formula.pre import prepare

__all__ = ["sweep"]


def sweep(model: Path, datasets: list[Path], thresholds=(0.3, 0.4, 0.45, 0.5, 0.6),
          min_scores=(0.4, 0.5, 0.55, 0.6, 0.7)) -> list[dict]:
    det = FormulaDetector(model)
    pages = []
    for ds in datasets:
        for lab in load_formula_labels(ds):
            x, meta = prepare(load_image(lab.file), det.spec)
            prob, box = det.det.run({det._in: x})[:2]
            pages.append((lab, prob[0], box[0], meta))
    rows = []
    for thr, ms in itertools.product(thresholds, min_scores):
        if ms < thr:
            continue
        cfg = DecodeConfig(threshold=thr, min_score=ms)
        tp = nt = npred = 0
        for lab, prob, box, meta in pages:
            dets = decode(prob, box, meta, det.spec, cfg)
            ok, _ = match_boxes(np.array(lab.boxes).reshape(-1, 4), lab.kinds,
                                np.array([d.box for d in dets]).reshape(-1, 4), [d.kind for d in dets],
                                np.array([d.score for d in dets]), 0.5)
            tp, nt, npred = tp + int(ok.sum()), nt + len(lab.boxes), npred + len(dets)
        rows.append({"threshold": thr, "min_score": ms, "precision": tp / max(1, npred), "recall": tp / max(1, nt),
                     "f1": 2 * tp / max(1, nt + npred)})
    return sorted(rows, key=lambda r: -r["f1"])


if __name__ == "__main__":
    for r in sweep(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])[:10]:
        print(r)
