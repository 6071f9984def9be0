"""`pocketocr card IMAGE... [--json]`: read card numbers and expiry dates."""

from __future__ import annotations

import argparse
import json
import sys

from ._common import (
    add_backend,
    add_max_side,
    add_threads,
    err,
    max_side_kwargs,
    report_input_error,
    short_path,
)

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("card", help="read card numbers and expiry dates from images")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.add_argument("--det-model", default=None, help="detector model file (default: shipped)")
    p.add_argument("--rec-model", default=None, help="recogniser model file (default: shipped)")
    add_backend(p)
    add_threads(p)
    add_max_side(p)
    return p


def _row(file: str, r) -> dict:
    return {"file": file, "number": r.number, "expiry": r.expiry, "brand": r.brand, "luhn_valid": r.luhn_valid,
            "confidence": r.confidence, "needs_review": r.needs_review,
            "timings_ms": {"total": r.timings_ms["total"]}}


def run(args) -> int:
    from ..errors import PocketOCRError
    from ..tasks.card.predictor import CardReader

    try:
        side = max_side_kwargs(args)
    except ValueError as exc:
        err(str(exc))
        return 2
    try:
        reader = CardReader(args.det_model, args.rec_model, backend=args.backend, threads=args.threads,
                            **side)
    except PocketOCRError as exc:
        err(str(exc))
        return 2
    failed = 0
    if not args.json:
        print(f"{'file':40} {'number':20} {'expiry':6} {'brand':10} {'luhn':4} {'review':6} {'ms':>7}")
    for path in args.images:
        try:
            r = reader.read(path)
        except PocketOCRError as exc:
            failed += 1
            report_input_error(path, exc, args.json)
            continue
        if args.json:
            print(json.dumps(_row(path, r)), flush=True)
        else:
            print(f"{short_path(path):40} {r.number or '-':20} {r.expiry or '-':6} {r.brand or '-':10} "
                  f"{'yes' if r.luhn_valid else 'no':4} {'yes' if r.needs_review else 'no':6} "
                  f"{r.timings_ms['total']:7.1f}")
    sys.stdout.flush()
    return 1 if failed else 0
