"""Card reader against a general OCR (RapidOCR, PP-OCRv4 models bundled in rapidocr-onnxruntime 1.4.4),
both on one thread, in the same process, on the same images. Prints a table of medians and the ratio.

    python benchmarks/bench_card_vs_rapidocr.py DATASET_DIR [--limit N] [--repeat R]

DATASET_DIR is a card dataset folder (labels.jsonl). pocketocr is timed three times: as shipped, with the
turned reads off, and with the second (zoomed) pass off too, so the table shows what each costs. Needs the [bench] extra. RapidOCR's text is turned
into a card number by the usual heuristic (the longest 13-19 digit run of a line, spaces and dashes
allowed, or of adjacent lines joined) and an expiry by the last MM/YY on the card.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from pocketocr.eval.card import load_card_labels
from pocketocr.io import load_image
from pocketocr.tasks.card.post import DecodeConfig
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
    readers = {"pocketocr int8 ONNX": CardReader(threads=1),
               "pocketocr, turned reads off": CardReader(threads=1, config=replace(DecodeConfig(), turn_angles=())),
               "pocketocr, zoomed + turned off": CardReader(threads=1, config=replace(DecodeConfig(), zoom=False,
                                                                                       turn_angles=()))}
    rapid = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    names = [*readers, "RapidOCR 1.4.4 (PP-OCRv4 det+rec)"]
    times = {k: [] for k in names}
    number_ok, expiry_ok = Counter(), Counter()
    for lab in labels:
        img = load_image(lab.file)
        arr = np.asarray(img)[:, :, ::-1].copy()  # RapidOCR takes BGR arrays
        for name, reader in readers.items():
            reader.read(img)  # warm-up
            runs = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = reader.read(img)
                runs.append(time.perf_counter() - t0)
            times[name].append(statistics.median(runs) * 1000)
            number_ok[name] += r.number == lab.number
            expiry_ok[name] += r.expiry == lab.expiry
        t0 = time.perf_counter()
        out, _ = rapid(arr)
        times[names[-1]].append((time.perf_counter() - t0) * 1000)
        number, expiry = rapid_card([x[1] for x in (out or [])])
        number_ok[names[-1]] += number == lab.number
        expiry_ok[names[-1]] += expiry == lab.expiry
    n = len(labels)
    print(f"dataset {args.dataset} ({n} images), one thread each, same process\n")
    print(f"{'reader':34} {'p50 ms':>8} {'p95 ms':>8} {'number exact':>13} {'expiry exact':>13}")
    for name in names:
        t = times[name]
        print(f"{name:34} {np.percentile(t, 50):8.1f} {np.percentile(t, 95):8.1f} "
              f"{number_ok[name] / n:13.3f} {expiry_ok[name] / n:13.3f}")
    print("\nspeed-up (RapidOCR / pocketocr), median of per-image ratios:")
    for name in readers:
        ratios = [b / a for a, b in zip(times[name], times[names[-1]])]
        print(f"  {name:32} {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
