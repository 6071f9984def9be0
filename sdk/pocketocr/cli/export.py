"""`pocketocr export card|formula --run RUN_DIR --out DIR`: checkpoints -> int8 ONNX + model cards."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help="export trained checkpoints to int8 ONNX with model cards (needs [export])")
    p.add_argument("task", choices=["card", "formula"])
    p.add_argument("--run", type=Path, default=None, help="training run folder (default runs/<task>)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the package's models/)")
    p.add_argument("--calib", type=int, default=160, help="synthetic photos used to calibrate int8")
    p.add_argument("--val-n", type=int, default=None, help="synthetic validation photos for the parity gate")
    p.add_argument("--keep-fp32", action="store_true", help="also write the fp32 ONNX models to --out")
    return p


def run(args) -> int:
    try:
        if args.task == "card":
            from ..export.card import ParityError, export_card as export_fn
        else:
            from ..export.formula import ParityError, export_formula as export_fn
    except ImportError as exc:
        err(f"export needs the [export] extra (pip install 'pocketocr[export]'): {exc}")
        return 2
    from ..zoo import MODELS_DIR

    run_dir = args.run or Path("runs") / args.task
    if not run_dir.is_dir():
        err(f"{run_dir}: no such training run folder")
        return 2
    try:
        summary = export_fn(run_dir, args.out or MODELS_DIR, calib=args.calib, val_n=args.val_n,
                            keep_fp32=args.keep_fp32)
    except ParityError as exc:
        err(f"parity gate failed: {exc}")
        return 1
    except FileNotFoundError as exc:
        err(f"missing checkpoint: {exc}")
        return 2
    print(json.dumps(summary.get("parity", {}), indent=2))
    for k, v in summary.get("shipped", {}).items():
        print(f"{k}: {v}")
    return 0
