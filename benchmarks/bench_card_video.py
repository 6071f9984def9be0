"""Video mode (`CardReader.feed`) frame times on a card held too tilted for the unturned reads: the turned reads on
every frame against one frame in four (the default `turn_every`). Prints medians, p95, and how many frames and
milliseconds of reading each needed to accept the number, with ratios against every-frame turning.

    python benchmarks/bench_card_video.py [--angle 34] [--frames 24] [--cards 8]

Frames are the bundled example cards turned by --angle degrees on a grey frame (the same still fed again and again:
a card held steady). The two readers take turns card by card, one thread each. No assertion on time: a report.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from PIL import Image
from pocketocr.bench import EXAMPLES_DIR, cpu_name
from pocketocr.tasks.card.predictor import CardReader


def _frames(angle: float, n: int) -> list[Image.Image]:
    labels = [json.loads(x) for x in (EXAMPLES_DIR / "cards" / "labels.jsonl").read_text().splitlines()]
    photos = [Image.open(EXAMPLES_DIR / "cards" / r["file"]).convert("RGB") for r in labels[:n]]
    return [p.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(110, 110, 110)) for p in photos]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--angle", type=float, default=34.0)
    ap.add_argument("--frames", type=int, default=24, help="frames fed per card")
    ap.add_argument("--cards", type=int, default=8)
    args = ap.parse_args()
    readers = {"turned reads every frame (baseline)": CardReader(threads=1, turn_every=1),
               "one frame in four (default)": CardReader(threads=1)}
    times: dict[str, list[float]] = {k: [] for k in readers}
    to_accept: dict[str, list[int | None]] = {k: [] for k in readers}
    ms_to_accept: dict[str, list[float]] = {k: [] for k in readers}
    cards = _frames(args.angle, args.cards)
    for reader in readers.values():
        reader.read(cards[0])  # warm-up
    for photo in cards:
        for label, reader in readers.items():  # take turns card by card: noise hits both alike
            reader.reset()
            accepted, spent = None, 0.0
            for i in range(args.frames):
                t = time.perf_counter()
                r = reader.feed(photo)
                times[label].append((time.perf_counter() - t) * 1000)
                spent += times[label][-1]
                if r is not None and accepted is None:
                    accepted = i + 1
                    ms_to_accept[label].append(spent)
            to_accept[label].append(accepted)
    base = float(np.median(times[next(iter(readers))]))
    print(f"CPU: {cpu_name()}; {len(cards)} example cards turned {args.angle:g} degrees, {args.frames} frames each, "
          "one thread")
    print(f"{'reader':38} {'frame p50 ms':>12} {'p95 ms':>8} {'p50 vs base':>11} {'accepted':>9} "
          f"{'frames to accept':>16} {'ms to accept':>12}  (medians)")
    for label in readers:
        t = np.asarray(times[label])
        ok = [k for k in to_accept[label] if k is not None]
        spent = ms_to_accept[label]
        print(f"{label:38} {np.median(t):12.1f} {np.percentile(t, 95):8.1f} {np.median(t) / base:10.2f}x "
              f"{len(ok):4d}/{len(cards):<4d} {float(np.median(ok)) if ok else float('nan'):16.1f} "
              f"{float(np.median(spent)) if spent else float('nan'):12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
