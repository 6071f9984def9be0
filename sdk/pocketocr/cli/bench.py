"""`pocketocr bench card|formula [--backend B] [--threads N] [--concurrency C] [--json]`: model-only benchmark."""

from __future__ import annotations

import argparse
import json

from ._common import add_backend, err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="benchmark: load time, latency p50/p95/p99, QPS, peak RSS, model size")
    p.add_argument("task", choices=["card", "formula"])
    add_backend(p)
    p.add_argument("--threads", type=int, default=None,
                   help="threads for the N-thread latency (default: cores available; 1 thread is always measured)")
    p.add_argument("--concurrency", type=int, default=1, help="concurrent workers for the QPS run (default 1)")
    p.add_argument("--images", type=int, default=20, help="distinct images (default 20)")
    p.add_argument("--repeats", type=int, default=3, help="passes over the images (default 3)")
    p.add_argument("--model", default=None,
                   help="card: a folder with card_det*/card_rec* or 'det,rec' files; formula: detector file "
                        "(default: shipped)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return p


def run(args) -> int:
    from ..bench import bench
    from ..errors import PocketOCRError

    try:
        r = bench(args.task, backend=args.backend, threads=args.threads, concurrency=args.concurrency,
                  images=args.images, repeats=args.repeats, model=args.model)
    except (PocketOCRError, ValueError) as exc:
        err(str(exc))
        return 2
    if args.json:
        print(json.dumps(r.to_dict(), indent=2))
        return 0
    print(f"{r.task} on {r.cpu}; backend {r.backend}; {r.images} images ({r.image_source})")
    for m in r.models:
        print(f"  model: {m}")
    print(f"model size     {r.model_mb:.2f} MB")
    print(f"load           {r.load_ms:.1f} ms")
    for threads, lat in r.latency_ms.items():
        print(f"latency {threads:>2} thr  p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  p99 {lat['p99']:.1f} ms")
    print(f"throughput     {r.throughput['qps']:.1f} QPS with {r.throughput['concurrency']} worker(s)")
    print(f"peak RSS       {r.peak_rss_mb:.0f} MB (after load +{r.rss_after_load_mb:.0f} MB)")
    for n in r.notes:
        print(f"note: {n}")
    return 0
