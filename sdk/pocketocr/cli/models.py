"""`pocketocr models [--json] [--verify]`: list the shipped models."""

from __future__ import annotations

import argparse
import json

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help="list the shipped models")
    p.add_argument("--json", action="store_true", help="a JSON list on stdout")
    p.add_argument("--verify", action="store_true", help="check each file's sha256 against its model card")
    return p


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
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'name':12} {'task':8} {'format':7} {'prec':5} {'KiB':>7} {'version':22} path")
        for r in rows:
            print(f"{r['name']:12} {r['task']:8} {r['format']:7} {r['precision']:5} {r['size_bytes'] / 1024:7.0f} "
                  f"{r['version']:22} {r['path']}")
    return 1 if bad else 0
