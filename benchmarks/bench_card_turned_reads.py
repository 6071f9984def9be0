"""The turned reads' cost and worth: CardReader.read with the shipped turn angles against fewer and none, on a
labelled card set, one thread. Prints numbers right and shown wrong, median and p95 time, and p95 against the
shipped angles.

    python benchmarks/bench_card_turned_reads.py DATASET [DATASET ...] [--limit N] [--threads T]

DATASET is a folder in the evaluation format (labels.jsonl + images), e.g. `pocketocr synth card --out DIR --n 300
--data-version 6` (15% of its photos are held 20-35 degrees off level) or the requirements check's set. The
variants take turns photo by photo, so machine noise hits all of them alike. No assertion: this is a report for
the photo path's p95 latency requirement (docs/requirements.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from pocketocr.bench import cpu_name
from pocketocr.eval.card import load_card_labels
from pocketocr.tasks.card.post import DecodeConfig
from pocketocr.tasks.card.predictor import CardReader

SHIPPED = DecodeConfig().turn_angles
VARIANTS = {"shipped angles (baseline)": SHIPPED, "15 and 30 only": (15.0, -15.0, 30.0, -30.0),
            "6 and 15 only": (6.0, -6.0, 15.0, -15.0), "no turned reads": ()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", type=Path, nargs="+")
    ap.add_argument("--limit", type=int, default=300, help="photos per set (default 300)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    readers = {k: CardReader(threads=args.threads, config=replace(DecodeConfig(), turn_angles=v))
               for k, v in VARIANTS.items()}
    print(f"{cpu_name()}; {args.threads} thread(s); shipped angles {SHIPPED}")
    for d in args.datasets:
        rows = load_card_labels(d)[: args.limit]
        times: dict[str, list[float]] = {k: [] for k in VARIANTS}
        right, wrong = dict.fromkeys(VARIANTS, 0), dict.fromkeys(VARIANTS, 0)
        for r in readers.values():
            r.read(rows[0].file)  # warm-up: the first run allocates
        for row in rows:  # variants take turns photo by photo
            for k, reader in readers.items():
                t = time.perf_counter()
                number = reader.read(row.file).number
                times[k].append((time.perf_counter() - t) * 1000)
                right[k] += number == row.number
                wrong[k] += number is not None and number != row.number
        p95 = {k: statistics.quantiles(v, n=20)[-1] for k, v in times.items()}
        base = next(iter(VARIANTS))
        print(f"\n{d} ({len(rows)} photos)")
        print(f"{'variant':26} {'right':>6} {'wrong':>6} {'median ms':>9} {'p95 ms':>7} {'p95 vs base':>11}")
        for k in VARIANTS:
            print(f"{k:26} {right[k]:6d} {wrong[k]:6d} {statistics.median(times[k]):9.1f} {p95[k]:7.1f} "
                  f"{p95[k] / p95[base]:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
