"""Pick the decoding thresholds on the synthetic validation sets (never on real pages).

Runs the model once per page, keeps the raw maps, and scores a grid of (threshold, min_score) with the
eval's matcher; prints the best rows, the current defaults marked.

    python -m pocketocr.training.formula.tune MODEL.onnx VAL_DIR [VAL_DIR ...] [--top 10]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
from pocketocr.eval.formula import load_formula_labels, match_boxes
from pocketocr.io import load_image
from pocketocr.tasks.formula.post import DecodeConfig, decode, snap_to_ink
from pocketocr.tasks.formula.pre import prepare
from pocketocr.tasks.formula.predictor import FormulaDetector

__all__ = ["sweep"]


def sweep(model: Path, datasets: list[Path], thresholds=(0.3, 0.4, 0.45, 0.5, 0.6),
          min_scores=(0.4, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8, 0.85)) -> list[dict]:
    det = FormulaDetector(model)
    pages = []
    for ds in datasets:
        for lab in load_formula_labels(ds):
            grey = load_image(lab.file).convert("L")
            x, meta = prepare(grey, det.spec)
            prob, box = det.det.run({det._in: x})[:2]
            pages.append((lab, prob[0], box[0], meta, np.asarray(grey)))
    rows = []
    for thr, ms in itertools.product(thresholds, min_scores):
        if ms < thr:
            continue
        cfg = DecodeConfig(threshold=thr, min_score=ms)
        tp = nt = npred = 0
        for lab, prob, box, meta, grey in pages:
            dets = snap_to_ink(decode(prob, box, meta, det.spec, cfg), grey, cfg)  # as the SDK reads
            ok, _ = match_boxes(np.array(lab.boxes).reshape(-1, 4), lab.kinds,
                                np.array([d.box for d in dets]).reshape(-1, 4), [d.kind for d in dets],
                                np.array([d.score for d in dets]), 0.5)
            tp, nt, npred = tp + int(ok.sum()), nt + len(lab.boxes), npred + len(dets)
        rows.append({"threshold": thr, "min_score": ms, "precision": tp / max(1, npred), "recall": tp / max(1, nt),
                     "f1": 2 * tp / max(1, nt + npred)})
    return sorted(rows, key=lambda r: -r["f1"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pocketocr.training.formula.tune", description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="formula detector (.onnx)")
    ap.add_argument("datasets", type=Path, nargs="+", help="synthetic validation folders (annotations.jsonl)")
    ap.add_argument("--top", type=int, default=10, help="rows to print")
    args = ap.parse_args(argv)
    for path in (args.model, *args.datasets):
        if not path.exists():
            print(f"tune: {path}: not found", file=sys.stderr)
            return 2
    default = DecodeConfig()
    print(f"{'threshold':>9} {'min_score':>9} {'precision':>9} {'recall':>7} {'F1@0.5':>7}")
    for r in sweep(args.model, args.datasets)[:args.top]:
        mark = "  (default)" if (r["threshold"], r["min_score"]) == (default.threshold, default.min_score) else ""
        print(f"{r['threshold']:>9} {r['min_score']:>9} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>7.3f}{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
