"""Card reader against a general OCR (RapidOCR, PP-OCRv4 models bundled in rapidocr-onnxruntime 1.4.4),
both on one thread, in the same process, on the same images. Prints a table of medians and the ratio.

    python benchmarks/bench_card_vs_rapidocr.py DATASET_DIR [--limit N] [--repeat R]

DATASET_DIR is a card dataset folder (labels.jsonl). Needs the [bench] extra. RapidOCR's text is turned
into a card number by the usual heuristic (the longest 13-19 digit run of a line, spaces and dashes
allowed, or of adjacent lines joined) and an expiry by the last MM/YY on the card.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from pocketocr.eval.card import load_card_labels
from pocketocr.io import load_image
from pocketocr.tasks.card.predictor import CardReader

_EXPIRY = re.compile(r"(?<!\d)(0[1-9]|1[0-2])\s?/\s?(\d{2})(?!\d)")


def rapid_card(texts: list[str]) -> tuple[str | None, str | None]:
    lines = [re.sub(r"(?<=\d)[ \-](?=\d)", "", t) for t in texts]
    runs = [r for t in lines for r in re.findall(r"\d{13,19}", t)]
    if not runs:  # stacked groups on adjacent lines
        joined = "".join(t for t in lines if re.fullmatch(r"\d{3,6}", t.strip()))
        runs = [joined] if 13 <= len(joined) <= 19 else []
    number = max(runs, key=len) if runs else None
    exps = [f"{m.group(1)}/{m.group(2)}" for t in texts for m in _EXPIRY.finditer(t)]
    return number, (exps[-1] if exps else None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per image for pocketocr (median)")
    args = ap.parse_args()
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        print("needs the [bench] extra: pip install 'pocketocr[bench]'", file=sys.stderr)
        return 2
    labels = load_card_labels(args.dataset)[: args.limit]
    ours = CardReader(threads=1)
    rapid = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    t_ours, t_rapid, ok_ours, ok_rapid, exp_ours, exp_rapid = [], [], 0, 0, 0, 0
    for lab in labels:
        img = load_image(lab.file)
        arr = np.asarray(img)[:, :, ::-1].copy()  # RapidOCR takes BGR arrays
        ours.read(img)  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = ours.read(img)
            times.append(time.perf_counter() - t0)
        t_ours.append(statistics.median(times) * 1000)
        t0 = time.perf_counter()
        out, _ = rapid(arr)
        t_rapid.append((time.perf_counter() - t0) * 1000)
        number, expiry = rapid_card([x[1] for x in (out or [])])
        ok_ours += r.number == lab.number
        ok_rapid += number == lab.number
        exp_ours += r.expiry == lab.expiry
        exp_rapid += expiry == lab.expiry
    n = len(labels)
    print(f"dataset {args.dataset} ({n} images), one thread each, same process\n")
    print(f"{'reader':34} {'p50 ms':>8} {'p95 ms':>8} {'number exact':>13} {'expiry exact':>13}")
    for name, t, ok, ex in (("pocketocr int8 ONNX", t_ours, ok_ours, exp_ours),
                            ("RapidOCR 1.4.4 (PP-OCRv4 det+rec)", t_rapid, ok_rapid, exp_rapid)):
        print(f"{name:34} {np.percentile(t, 50):8.1f} {np.percentile(t, 95):8.1f} {ok / n:13.3f} {ex / n:13.3f}")
    ratios = [b / a for a, b in zip(t_ours, t_rapid)]
    print(f"\nspeed-up (RapidOCR / pocketocr), median of per-image ratios: {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
