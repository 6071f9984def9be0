"""`pocketocr compare MODEL_A MODEL_B ... --dataset DIR [--html report.html] [--json]`: candidates side by side.

A card candidate is a folder with `card_det*` and `card_rec*` model files of one format, or a
"det.onnx,rec.onnx" pair. A checkpoint (a run folder with card_det.pt/card_rec.pt, or a .pt) is exported
to fp32 ONNX first (needs [export]; no parity gate, into `<run>/export/compare_fp32/`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import add_backend, err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("compare", help="compare candidate models on one dataset, with a disagreement gallery")
    p.add_argument("candidates", nargs="+", metavar="MODEL",
                   help="card: folder with card_det*/card_rec*, 'det,rec' files, or a checkpoint (run folder / .pt)")
    p.add_argument("--dataset", type=Path, required=True, help="labelled dataset folder (labels.jsonl)")
    p.add_argument("--task", choices=["card", "formula"], default="card")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="shortlist: within this of the best primary metric (absolute, default 0.01 = 1 pt)")
    p.add_argument("--html", type=Path, default=None, help="write the report with a disagreement gallery")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_backend(p)
    return p


def _is_checkpoint(spec: str) -> bool:
    p = Path(spec)
    return (p.suffix == ".pt" and p.is_file()) or (p.is_dir() and any(p.glob("card_*.pt")))


def _exported(spec: str) -> str:
    """A checkpoint candidate -> its fp32 ONNX folder (exported once, reused while newer than the checkpoint)."""
    from ..export.pipeline import export_checkpoint, resolve_checkpoint

    _, run, files = resolve_checkpoint(Path(spec))
    out = run / "export" / "compare_fp32"
    made = [out / f"card_{r}.fp32.onnx" for r in ("det", "rec")]
    newest = max(f.stat().st_mtime for f in files.values())
    if not all(m.exists() and m.stat().st_mtime >= newest for m in made):
        export_checkpoint(Path(spec), out, to="onnx", verify=False,
                          log=lambda m: print(f"compare: export {m}", file=sys.stderr, flush=True))
    return f"{made[0]},{made[1]}"


def run(args) -> int:
    from ..compare import compare, compare_html
    from ..errors import PocketOCRError

    if not args.dataset.is_dir():
        err(f"{args.dataset}: not a dataset folder")
        return 2
    specs, names = [], []
    for c in args.candidates:
        if _is_checkpoint(c):
            try:
                specs.append(_exported(c))
            except ImportError as exc:
                err(f"{c}: comparing a checkpoint needs the [export] extra to export it ({exc})")
                return 2
            except (ValueError, FileNotFoundError) as exc:
                err(str(exc))
                return 2
            names.append(Path(c).name if Path(c).is_dir() else f"{Path(c).parent.name}/{Path(c).stem}")
        else:
            specs.append(c)
            names.append("")
    from ..compare import _names

    auto = _names(specs)
    labels = [n or a for n, a in zip(names, auto)]
    try:
        rep = compare(args.task, specs, args.dataset, backend=args.backend, tolerance=args.tolerance, names=labels)
    except PocketOCRError as exc:
        err(str(exc))
        return 2
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(compare_html(rep, args.dataset))
    if args.json:
        d = rep.to_dict()
        for dd in d["disagreements"]:
            for o in dd["outputs"].values():
                o.pop("boxes", None)
        print(json.dumps(d, indent=2))
        return 0
    w = max(12, *(len(c.name) for c in rep.candidates))
    print(f"{'candidate':{w}} {rep.primary:>12} {'expiry':>7} {'p50 ms':>7} {'p95 ms':>7} {'MB':>6} {'RSS MB':>6}  short")
    for c in rep.candidates:
        v = c.metrics.get(rep.primary)
        e = c.metrics.get("expiry_exact")
        print(f"{c.name:{w}} {('-' if v is None else f'{v * 100:.2f}%'):>12} "
              f"{('-' if e is None else f'{e * 100:.1f}%'):>7} {c.latency_ms['p50'] or 0:7.1f} "
              f"{c.latency_ms['p95'] or 0:7.1f} {c.size_mb:6.2f} {c.load_rss_mb:6.0f}  "
              f"{'yes' if c.name in rep.shortlist else 'no'}")
    slice_keys = sorted({k for c in rep.candidates for k in c.slices})
    if slice_keys:
        print(f"\n{rep.primary} by slice")
        for k in slice_keys:
            vals = [c.slices.get(k, {}).get(rep.primary) for c in rep.candidates]
            print(f"  {k:28} " + " ".join(f"{('-' if v is None else f'{v * 100:.1f}%'):>9}" for v in vals))
    print()
    for c in rep.candidates:
        print(f"{c.name}: {rep.why[c.name]}")
    print(f"disagreements: {len(rep.disagreements)} of {rep.n_samples} samples"
          + (f"; gallery: {args.html}" if args.html else ""))
    return 0
