"""Card reads of phone-camera-sized photos: every pixel decoded (max_side=None, the baseline) against the
default reduced read (max_side=1600: a JPEG decoded at 1/2 or 1/4 scale). Prints medians and the ratio.

    python benchmarks/bench_card_large_photo.py [--images N] [--repeats R] [--side 4032] [--threads T]

Each image is a benchmark card photo (`pocketocr.bench.bench_images`) enlarged to `--side` pixels on its long
side and saved as a quality-92 JPEG, which is then read from its bytes, so the file decoding is timed too. The
two readers take turns image by image, so machine noise hits both alike. No assertion on time: a report.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

from PIL import Image

from pocketocr.bench import bench_images, cpu_name
from pocketocr.tasks.card.predictor import CardReader


def _enlarged_jpeg(img: Image.Image, side: int) -> bytes:
    k = side / max(img.size)
    buf = io.BytesIO()
    img.convert("RGB").resize((round(img.width * k), round(img.height * k)), Image.BICUBIC).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--side", type=int, default=4032, help="long side of the photos in pixels (4032: 12 MP)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    imgs, source = bench_images("card", args.images)
    files = [_enlarged_jpeg(img, args.side) for img in imgs]
    readers = {"every pixel (baseline)": CardReader(threads=args.threads, max_side=None),
               "max_side=1600 (default)": CardReader(threads=args.threads)}
    for reader in readers.values():
        reader.read(files[0])  # warm-up
    times: dict[str, list[float]] = {k: [] for k in readers}
    numbers: dict[str, list] = {k: [] for k in readers}
    for _ in range(args.repeats):
        for data in files:
            for label, reader in readers.items():
                t = time.perf_counter()
                res = reader.read(data)
                times[label].append((time.perf_counter() - t) * 1000)
                numbers[label].append(res.number)
    base = next(iter(readers))
    med0 = statistics.median(times[base])
    w, h = Image.open(io.BytesIO(files[0])).size
    print(f"{cpu_name()}; {len(files)} images ({source}) enlarged to {w}x{h} JPEG x {args.repeats}; "
          f"{args.threads} thread(s)")
    print(f"{'reader':24} {'median ms':>9} {'p95 ms':>7} {'vs base':>7} {'same number as base':>19}")
    for label in readers:
        ts = sorted(times[label])
        med, p95 = statistics.median(ts), ts[min(len(ts) - 1, int(round(0.95 * (len(ts) - 1))))]
        same = sum(a == b for a, b in zip(numbers[label], numbers[base])) / len(numbers[base])
        print(f"{label:24} {med:9.2f} {p95:7.2f} {med / med0:6.2f}x {same * 100:18.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
