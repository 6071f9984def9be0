"""`pocketocr export`: checkpoints -> deployable models, each verified against the checkpoint (needs [export]).

Two forms:
- `pocketocr export CHECKPOINT --to onnx,ort,tflite [--int8] [--calib N] [--out DIR]`: CHECKPOINT is a
  run folder or a `.pt`; writes every requested format with model cards and a parity gate
  (export/pipeline.py, docs/export.md).
- `pocketocr export card|formula --run RUN_DIR --out DIR`: the int8 ONNX release export
  (`make export-card`; export/card.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help="export checkpoints to ONNX / ORT / TFLite with model cards (needs [export])")
    p.add_argument("target", metavar="CHECKPOINT",
                   help="a run folder or .pt checkpoint; or 'card'/'formula' with --run (release int8 ONNX)")
    p.add_argument("--to", default=None, help="formats, comma-separated: onnx,ort,tflite (default onnx)")
    p.add_argument("--int8", action="store_true", help="also write int8 models (ONNX QDQ, TFLite PT2E)")
    p.add_argument("--run", type=Path, default=None, help="with 'card'/'formula': training run folder (default runs/<task>)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default <run>/export; with 'card'/'formula': the package's models/)")
    p.add_argument("--calib", type=int, default=None, help="synthetic photos used to calibrate int8 (default 160)")
    p.add_argument("--val-n", type=int, default=None, help="synthetic validation photos for the parity gate")
    p.add_argument("--keep-fp32", action="store_true", help="with 'card'/'formula': also ship the fp32 ONNX models")
    p.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    p.add_argument("--percentile", type=float, default=None,
                   help="with 'formula': calibrate int8 ONNX to this percentile of |x| (e.g. 99.999; default min-max)")
    p.add_argument("--allow-parity-failure", action="store_true",
                   help="ship even when a file fails the parity gate (recorded in the model cards as passed: false)")
    return p


def _legacy(args) -> int:
    if args.percentile is not None and args.target != "formula":
        err("--percentile applies to 'formula' (the card export always calibrates to percentile 99.999)")
        return 2
    try:
        if args.target == "card":
            from ..export.card import ParityError
            from ..export.card import export_card as export_fn
        else:
            from ..export.formula import ParityError  # type: ignore[import-not-found]
            from ..export.formula import export_formula as export_fn
    except ImportError as exc:
        err(f"export needs the [export] extra (pip install 'pocketocr[export]'): {exc}")
        return 2
    from ..zoo import MODELS_DIR

    run_dir = args.run or Path("runs") / args.target
    if not run_dir.is_dir():
        err(f"{run_dir}: no such training run folder")
        return 2
    try:
        summary = export_fn(run_dir, args.out or MODELS_DIR, val_n=args.val_n,  # each exporter owns its calib default
                            **({"calib": args.calib} if args.calib else {}),
                            keep_fp32=args.keep_fp32,
                            **({"allow_parity_failure": True} if args.allow_parity_failure else {}),
                            **({"percentile": args.percentile} if args.percentile is not None else {}))
    except ParityError as exc:
        err(f"parity gate failed: {exc}")
        return 1
    except FileNotFoundError as exc:
        err(f"missing checkpoint: {exc}")
        return 2
    if args.json:  # one object on stdout, as the other commands' --json
        print(json.dumps(summary, indent=2, default=str))
        return 0
    print(json.dumps(summary.get("parity", {}), indent=2))
    for k, v in summary.get("shipped", {}).items():
        print(f"{k}: {v}")
    return 0


def _pct(v) -> str:
    return "-" if v is None else f"{v * 100:.2f}"


def run(args) -> int:
    is_task = args.target in ("card", "formula") and (args.run is not None or not Path(args.target).exists())
    if is_task and args.to is None and not args.int8:
        return _legacy(args)
    checkpoint = (args.run or Path("runs") / args.target) if is_task else Path(args.target)
    try:
        from ..export.formats import parse_formats
        from ..export.parity import ParityError
        from ..export.pipeline import export_checkpoint
    except ImportError as exc:
        err(f"export needs the [export] extra (pip install 'pocketocr[export]'): {exc}")
        return 2
    try:
        parse_formats(args.to or "onnx")
        summary = export_checkpoint(Path(checkpoint), args.out, to=args.to or "onnx", int8=args.int8,
                                    calib=args.calib, val_n=args.val_n, allow_parity_failure=args.allow_parity_failure,
                                    log=lambda m: print(f"export: {m}", file=sys.stderr, flush=True))
    except ParityError as exc:
        err(f"parity gate failed: {exc}")
        return 1
    except (ValueError, FileNotFoundError) as exc:
        err(str(exc))
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    metric = summary["gate"]["metric"]
    what = "files (det + rec)" if summary["task"] == "card" else "file [validation set]"
    print(f"{what:52} {metric:>12} {'ckpt':>7} {'drop pt':>7} {'agree':>6}  gate")
    for r in summary["parity"]:
        print(f"{r['file']:52} {_pct(r['value']):>12} {_pct(r['reference']):>7} {_pct(r['drop']):>7} "
              f"{_pct(r['result_agreement']):>6}  {'pass' if r['passed'] else 'FAIL'}")
    if "tflite_int8_vs_onnx_int8" in summary:
        t = summary["tflite_int8_vs_onnx_int8"]
        print(f"TFLite int8 vs ONNX int8: {t['diff_pt']:+.2f} pt {metric} (bar: within {t['max_pt']} pt)")
    for path in summary["files"].values():
        print(f"wrote {path}")
    return 0
