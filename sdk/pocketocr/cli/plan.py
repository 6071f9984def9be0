"""`pocketocr plan --target-qps Q --device-memory M [--instance-memory X | --model PATH] [--instance-qps R] [--json]`.

Without `--instance-memory`/`--instance-qps` the numbers are measured by `pocketocr bench` on the
model (`--model`, default the shipped card models): instance memory = resident memory after loading
and reading, instance QPS = one worker's throughput.
"""

from __future__ import annotations

import argparse
import json

from ._common import add_backend, err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("plan", help="capacity planner: devices needed for a target QPS")
    p.add_argument("--target-qps", type=float, required=True, help="requests per second to serve")
    p.add_argument("--device-memory", required=True, help="memory per device, e.g. 10GiB, 16GB, 800MB")
    p.add_argument("--instance-memory", default=None, help="memory per model instance (else measured on --model)")
    p.add_argument("--model", default=None,
                   help="model to measure: card folder or det,rec files; formula detector file (default: shipped)")
    p.add_argument("--task", choices=["card", "formula"], default="card", help="task of --model (default card)")
    p.add_argument("--instance-qps", type=float, default=None, help="QPS of one instance (else measured by bench)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_backend(p)
    return p


def run(args) -> int:
    from ..errors import PocketOCRError
    from ..plan import format_size, parse_size, plan

    try:
        device = parse_size(args.device_memory)
        inst = parse_size(args.instance_memory) if args.instance_memory else None
    except ValueError as exc:
        err(str(exc))
        return 2
    sources = {"instance_memory": "given" if inst else "", "instance_qps": "given" if args.instance_qps else ""}
    qps = args.instance_qps
    if inst is None or qps is None:
        from ..bench import bench

        try:
            r = bench(args.task, backend=args.backend, threads=1, concurrency=1, images=10, repeats=2,
                      model=args.model)
        except (PocketOCRError, ValueError) as exc:
            err(str(exc))
            return 2
        if inst is None:
            inst = int(r.peak_rss_mb * 1e6)
            sources["instance_memory"] = f"measured: peak RSS of one process running {', '.join(r.models)}"
        if qps is None:
            qps = r.throughput["qps"]
            sources["instance_qps"] = f"measured: 1 worker, 1 thread on {r.cpu}"
    try:
        p = plan(target_qps=args.target_qps, device_memory=device, instance_memory=inst, instance_qps=qps,
                 sources=sources)
    except ValueError as exc:
        err(str(exc))
        return 2
    if args.json:
        print(json.dumps(p.to_dict(), indent=2))
        return 0
    print(f"target: {p.target_qps:g} QPS; device memory {format_size(p.device_memory)}; "
          f"instance {format_size(p.instance_memory)} at {p.instance_qps:g} QPS")
    for k, v in p.sources.items():
        print(f"  {k}: {v}")
    print(f"instances_per_device: {p.instances_per_device}")
    print(f"qps_per_device:       {p.qps_per_device:g}")
    print(f"devices_needed:       {p.devices_needed if p.devices_needed is not None else 'impossible'}")
    print(f"bottleneck:           {p.bottleneck}")
    print("\nwhat if the instance were smaller:")
    print(f"  {'instance':>10} {'per device':>10} {'QPS/device':>10} {'devices':>8}")
    for w in p.what_if:
        mark = "  <- current" if w.instance_memory == p.instance_memory else ("  changes" if w.changes else "")
        print(f"  {format_size(w.instance_memory):>10} {w.instances_per_device:>10} {w.qps_per_device:>10g} "
              f"{w.devices_needed if w.devices_needed is not None else '-':>8}{mark}")
    return 0 if p.devices_needed is not None else 1
