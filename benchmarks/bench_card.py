"""Card models by format and precision, in one process on the same images: int8 ONNX (the shipped
default) against fp32 ONNX and int8 TFLite. Prints medians and ratios against the baseline.

    python benchmarks/bench_card.py [--models DIR] [--images N] [--repeats R] [--threads T]

DIR holds `card_{det,rec}.<prec>.<fmt>` files, e.g. the output of
`pocketocr export runs/card --to onnx,tflite --int8` (default: the shipped models plus
runs/card/export for the fp32 ONNX pair, when present). Each variant runs `CardReader.read` (the public
path: pre-processing, both models, decoding) on one thread; variants take turns image by image, so
machine noise hits all of them alike. No assertion on time: this is a report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pocketocr.bench import bench_images, cpu_name, current_rss_mb, take_turns
from pocketocr.tasks.card.predictor import CardReader
from pocketocr.zoo import MODELS_DIR

VARIANTS = [("onnx int8 (baseline)", "int8", "onnx"), ("onnx fp32", "fp32", "onnx"), ("tflite int8", "int8", "tflite"),
            ("tflite fp32", "fp32", "tflite"), ("ort int8", "int8", "ort")]


def _find(dirs: list[Path], prec: str, fmt: str) -> tuple[Path, Path] | None:
    for d in dirs:
        det, rec = d / f"card_det.{prec}.{fmt}", d / f"card_rec.{prec}.{fmt}"
        if det.exists() and rec.exists():
            return det, rec
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, action="append", default=None, help="model folder (repeatable)")
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    dirs = args.models or [MODELS_DIR, Path("runs/card/export")]
    imgs, source = bench_images("card", args.images)
    readers = {}
    for label, prec, fmt in VARIANTS:
        pair = _find(dirs, prec, fmt)
        if pair is None:
            print(f"skip {label}: no card_det.{prec}.{fmt} + card_rec.{prec}.{fmt} in {', '.join(map(str, dirs))}",
                  file=sys.stderr)
            continue
        rss = current_rss_mb()
        t = time.perf_counter()
        reader = CardReader(*pair, threads=args.threads)
        load = (time.perf_counter() - t) * 1000
        reader.read(imgs[0])  # warm-up
        readers[label] = (reader, load, current_rss_mb() - rss, sum(p.stat().st_size for p in pair) / 1e6)
    if not readers:
        print("no models found", file=sys.stderr)
        return 2
    stats = take_turns({label: r.read for label, (r, *_rest) in readers.items()}, imgs, args.repeats,
                       key=lambda res: res.number)
    print(f"{cpu_name()}; {len(imgs)} images ({source}) x {args.repeats}; {args.threads} thread(s)")
    print(f"{'variant':22} {'median ms':>9} {'p95 ms':>7} {'vs base':>7} {'MB':>6} {'load ms':>7} {'+RSS MB':>7} "
          f"{'same number as base':>19}")
    for label, (_r, load, rss, mb) in readers.items():
        st = stats[label]
        print(f"{label:22} {st.median:9.2f} {st.p95:7.2f} {st.vs_base:6.2f}x {mb:6.2f} {load:7.0f} {rss:7.0f} "
              f"{st.same_as_base * 100:18.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
