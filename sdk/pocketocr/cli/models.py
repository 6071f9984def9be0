"""`pocketocr models [--json] [--verify] [--metrics]`: list the shipped models (and what each card measured)."""

from __future__ import annotations

import argparse
import json

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help="list the shipped models")
    p.add_argument("--json", action="store_true", help="a JSON list on stdout")
    p.add_argument("--verify", action="store_true", help="check each file's sha256 against its model card")
    p.add_argument("--metrics", action="store_true",
                   help="also show each model card's measured figures: the export's and those kept by "
                        "`pocketocr eval ... --record NAME`")
    return p


# The headline figures shown per measurement, by task (the card keeps all of them).
_HEADLINE = {"card": ("number_exact", "expiry_exact", "needs_correction"),
             "formula": ("f1_50", "precision_50", "recall_50")}


def _measurements(metrics: dict) -> list[tuple[str, dict]]:
    """(name, figures) of each measurement in a model card's metrics: the export's first, then the recorded ones."""
    out = [(k, v) for k, v in metrics.items() if isinstance(v, dict) and "n" in v and not k.startswith("parity")]
    out += [(f"recorded.{k}", v) for k, v in metrics.get("recorded", {}).items() if isinstance(v, dict)]
    return out


def _measurement_line(task: str, name: str, m: dict) -> str:
    figures = "  ".join(f"{k}={m[k]:.3f}" for k in _HEADLINE.get(task, ()) if isinstance(m.get(k), (int, float)))
    p50 = (m.get("latency_ms") or {}).get("p50")
    when = f"  ({m['measured']}, {m.get('backend', 'onnx')}, {m.get('dataset')})" if "measured" in m else "  (export)"
    return f"    {name:32} n={m.get('n')}  {figures}" + (f"  p50={p50:.1f}ms" if p50 else "") + when


def run(args) -> int:
    from ..zoo import list_models, sha256_of

    models = list_models()
    bad = 0
    rows = []
    for m in models:
        row = m.to_dict()
        if args.verify:
            row["sha256_ok"] = sha256_of(m.path) == m.sha256
            if not row["sha256_ok"]:
                bad += 1
                err(f"{m.path}: sha256 does not match its model card")
        if args.metrics:
            row["metrics"] = m.metrics
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'name':12} {'task':8} {'format':7} {'prec':5} {'KiB':>7} {'version':22} path")
        for r in rows:
            print(f"{r['name']:12} {r['task']:8} {r['format']:7} {r['precision']:5} {r['size_bytes'] / 1024:7.0f} "
                  f"{r['version']:22} {r['path']}")
            if args.metrics:
                for name, m in _measurements(r["metrics"]):
                    print(_measurement_line(r["task"], name, m))
    return 1 if bad else 0
