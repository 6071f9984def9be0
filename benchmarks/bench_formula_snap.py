"""What snapping formula boxes to the ink costs: the shipped detector with `snap_to_ink` (the default) against the
same detector without it, in one process, taking turns page by page. Prints medians, the ratio to the baseline,
and the post-processing stage alone.

    python benchmarks/bench_formula_snap.py [--pages DIR] [--images N] [--repeats R] [--threads T]

DIR: a formula set (annotations.jsonl + images; e.g. ../shared/devsets/formula); default: synthetic pages
(`pocketocr.bench.bench_images`). No assertion on time: this is a report.
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
    ap.add_argument("--pages", type=Path, default=None, help="formula set folder (default: synthetic pages)")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.pages:
        from pocketocr.eval.formula import load_formula_labels

        imgs = [load_image(lab.file) for lab in load_formula_labels(args.pages)[:args.images]]
        source = str(args.pages)
    else:
        imgs, source = bench_images("formula", args.images)
    plain = FormulaDetector(threads=args.threads, config=replace(DecodeConfig(), snap=False))
    snapped = FormulaDetector(threads=args.threads)
    contenders = {"decode only (baseline)": plain, "decode + snap_to_ink": snapped}
    post: dict[str, list[float]] = {k: [] for k in contenders}

    def timed(name, det):
        def run(img):
            r = det.detect(img)
            post[name].append(r.timings_ms["post"])
            return len(r.formulas)
        return run

    stats = take_turns({k: timed(k, d) for k, d in contenders.items()}, imgs, args.repeats)
    print(f"{cpu_name()}; {len(imgs)} pages ({source}) x {args.repeats}; {args.threads} thread(s)")
    print(f"{'variant':24} {'median ms':>9} {'p95 ms':>7} {'vs base':>7} {'post median ms':>14} {'same count':>10}")
    for name, st in stats.items():
        print(f"{name:24} {st.median:9.2f} {st.p95:7.2f} {st.vs_base:6.2f}x {statistics.median(post[name]):14.2f} "
              f"{st.same_as_base * 100:9.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
