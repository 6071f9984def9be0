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
import sys

from PIL import Image
from pocketocr.bench import bench_images, cpu_name, take_turns
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
    stats = take_turns({label: r.read for label, r in readers.items()}, files, args.repeats, key=lambda res: res.number)
    w, h = Image.open(io.BytesIO(files[0])).size
    print(f"{cpu_name()}; {len(files)} images ({source}) enlarged to {w}x{h} JPEG x {args.repeats}; "
          f"{args.threads} thread(s)")
    print(f"{'reader':24} {'median ms':>9} {'p95 ms':>7} {'vs base':>7} {'same number as base':>19}")
    for label, st in stats.items():
        print(f"{label:24} {st.median:9.2f} {st.p95:7.2f} {st.vs_base:6.2f}x {st.same_as_base * 100:18.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
