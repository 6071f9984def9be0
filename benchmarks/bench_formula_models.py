"""Formula detector files against each other, in one process on the same pages: the first is the baseline.
Prints medians, p95, the ratio to the baseline's median and the post-processing stage alone.

    python benchmarks/bench_formula_models.py MODEL [MODEL ...] [--no-snap] [--pages DIR ...] [--repeats R] [--threads T]

MODEL: a `.onnx` or `.tflite` detector (e.g. the shipped `sdk/pocketocr/models/formula_det.int8.onnx` and an older
one from `git show`). `--no-snap` adds the first model with its boxes as decoded, without `snap_to_ink`: what the
snapping costs. DIR: formula sets (annotations.jsonl + images); default: synthetic pages. Pages are decoded once,
before timing; each contender reads each page in turn (`pocketocr.bench.take_turns`), so machine noise hits them
alike. No assertion on time: this is a report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from pocketocr.bench import bench_images, cpu_name, take_turns
from pocketocr.io import load_image
from pocketocr.tasks.formula.post import DecodeConfig
from pocketocr.tasks.formula.predictor import FormulaDetector


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", type=Path, nargs="+")
    ap.add_argument("--no-snap", action="store_true", help="also the first model without snapping boxes to the ink")
    ap.add_argument("--pages", type=Path, action="append", default=None, help="formula set folder (repeatable)")
    ap.add_argument("--images", type=int, default=8, help="synthetic pages when no --pages")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    missing = [m for m in args.models if not m.exists()]
    if missing:
        print(f"not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    if args.pages:
        from pocketocr.eval.formula import load_formula_labels

        imgs = [load_image(lab.file) for d in args.pages for lab in load_formula_labels(d)]
        source = ", ".join(map(str, args.pages))
    else:
        imgs, source = bench_images("formula", args.images)

    def detector(m: Path, snap: bool = True) -> FormulaDetector:
        return FormulaDetector(m, backend="tflite" if m.suffix == ".tflite" else "onnx", threads=args.threads,
                               config=replace(DecodeConfig(), snap=snap))

    dets = {f"{m.name}{' (baseline)' if i == 0 else ''} [{i}]": detector(m) for i, m in enumerate(args.models)}
    if args.no_snap:
        dets[f"{args.models[0].name} without snapping"] = detector(args.models[0], snap=False)
    post: dict[str, list[float]] = {k: [] for k in dets}

    def timed(name: str, det: FormulaDetector):
        def run(img):
            r = det.detect(img)
            post[name].append(r.timings_ms["post"])
            return len(r.formulas)
        return run

    stats = take_turns({k: timed(k, d) for k, d in dets.items()}, imgs, args.repeats)
    print(f"{cpu_name()}; {len(imgs)} pages ({source}) x {args.repeats}; {args.threads} thread(s)")
    print(f"{'detector':44} {'median ms':>9} {'p95 ms':>7} {'vs base':>7} {'post median ms':>14}")
    for name, st in stats.items():
        print(f"{name:44} {st.median:9.2f} {st.p95:7.2f} {st.vs_base:6.2f}x {statistics.median(post[name]):14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
