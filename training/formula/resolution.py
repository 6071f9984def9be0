"""Measure which input resolution the detector needs, from the labelled pages alone (no model).

For each long side L: (1) the size of the truth boxes in input pixels and output cells; (2) the
"oracle" round trip: encode the truth boxes into stride-4 targets exactly as training does, decode
those perfect maps with the SDK's decoder, and score them against the truth (F1 at IoU 0.5/0.75).
What the round trip loses (cores that merge or vanish, box edges quantised) no trained model can win
back; (3) the fp32 latency of the network at that size, one thread.

`python -m pocketocr.training.formula.resolution DATASET [DATASET ...]`
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from pocketocr.eval.formula import load_formula_labels, match_boxes
from pocketocr.tasks.formula.post import decode
from pocketocr.tasks.formula.pre import PageMeta, PreSpec

from .data import encode_targets

__all__ = ["main", "oracle_round_trip"]


def _core(b, shrink: float):
    x1, y1, x2, y2 = b
    sh = min(y2 - y1, x2 - x1) * shrink
    if 2 * sh >= min(y2 - y1, x2 - x1):
        return [((x1 + x2) / 2, (y1 + y2) / 2)] * 4
    return [(x1 + sh, y1 + sh), (x2 - sh, y1 + sh), (x2 - sh, y2 - sh), (x1 + sh, y2 - sh)]


def oracle_round_trip(dataset: Path, long_side: int) -> dict:
    spec = PreSpec(long_side=long_side)
    tp = {0.5: 0, 0.75: 0}
    nt = npred = 0
    heights, widths = [], []
    for lab in load_formula_labels(dataset):
        w, h = lab.size
        scale = long_side / max(w, h)
        shape = (-(-round(h * scale) // 32) * 32 // 4, -(-round(w * scale) // 32) * 32 // 4)
        kinds = ["embedded" if k == "unknown" else k for k in lab.kinds]
        boxes = [(*b, k) for b, k in zip(lab.boxes, kinds)]
        t = encode_targets(boxes, [_core(b, spec.shrink) for b in lab.boxes], scale, shape, spec)
        meta = PageMeta(scale, (w, h), (round(w * scale), round(h * scale)))
        dets = decode(t[0:2], t[2:6], meta, spec)
        pb = np.array([d.box for d in dets]).reshape(-1, 4)
        tb = np.array(lab.boxes).reshape(-1, 4)
        for thr in tp:
            ok, _ = match_boxes(tb, lab.kinds, pb, [d.kind for d in dets], np.ones(len(pb)), thr)
            tp[thr] += int(ok.sum())
        nt += len(tb)
        npred += len(pb)
        heights += list((tb[:, 3] - tb[:, 1]) * scale)
        widths += list((tb[:, 2] - tb[:, 0]) * scale)
    f1 = {thr: 2 * v / (nt + npred) for thr, v in tp.items()}
    hh, ww = np.array(heights), np.array(widths)
    return {"long_side": long_side, "n_truth": nt, "n_decoded": npred, "f1_50": round(f1[0.5], 4),
            "f1_75": round(f1[0.75], 4), "median_h_px": round(float(np.median(hh)), 1),
            "p10_h_px": round(float(np.percentile(hh, 10)), 1), "p10_w_px": round(float(np.percentile(ww, 10)), 1),
            "share_h_lt_8px": round(float((hh < 8).mean()), 3), "share_w_lt_1cell": round(float((ww < 4).mean()), 3)}


def _latency(long_side: int) -> float:
    import onnxruntime as ort
    import torch

    from .models import FormulaDet

    path = Path(f"/tmp/formula_res_{long_side}.onnx")
    w = -(-round(long_side * 0.69) // 32) * 32
    torch.onnx.export(FormulaDet().eval(), (torch.zeros(1, 1, long_side, w),), str(path), input_names=["image"],
                      output_names=["prob", "box"], dynamo=False, opset_version=17)
    o = ort.SessionOptions()
    o.intra_op_num_threads = o.inter_op_num_threads = 1
    s = ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])
    x = np.zeros((1, 1, long_side, w), np.float32)
    s.run(None, {"image": x})
    ts = []
    for _ in range(7):
        t = time.perf_counter()
        s.run(None, {"image": x})
        ts.append(time.perf_counter() - t)
    return round(float(np.median(ts)) * 1000, 1)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    for ds in argv:
        for L in (640, 768, 1024, 1280, 1600):
            row = oracle_round_trip(Path(ds), L)
            print(Path(ds).name, row, flush=True)
    if "--latency" in argv:
        for L in (768, 1024, 1280, 1600):
            print("fp32 latency ms, 1 thread", L, _latency(L))


if __name__ == "__main__":
    main()
