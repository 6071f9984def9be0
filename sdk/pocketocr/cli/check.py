"""`pocketocr check FILE [--json]`: the release gate. Exit 0 only when every requirement passes; 1 when
one fails (each failing line is named on stderr); 2 when the file or the model is unusable."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import err

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="check a model against a requirements TOML (docs/requirements.md)")
    p.add_argument("file", type=Path, metavar="REQUIREMENTS_TOML")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--images", type=int, default=20, help="benchmark images (default 20)")
    p.add_argument("--repeats", type=int, default=3, help="benchmark passes (default 3)")
    return p


def run(args) -> int:
    from ..errors import PocketOCRError
    from ..requirements import check, load_requirements

    try:
        req = load_requirements(args.file)
        report = check(req, images=args.images, repeats=args.repeats)
    except PocketOCRError as exc:
        err(str(exc))
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(f"{report.file}: {report.task} on {report.cpu}")
        for m in report.models:
            print(f"  model: {m}")
        print(f"{'line':>4}  {'requirement':34} {'required':>16} {'measured':>14}  result")
        for r in report.rows:
            print(f"{r.line or '':>4}  {r.key:34} {r.required:>16} {r.measured:>14}  "
                  f"{'pass' if r.passed else 'FAIL'}{'  (' + r.note + ')' if r.note else ''}")
        for n in report.notes:
            print(f"note: {n}")
        print("PASSED" if report.passed else f"FAILED: {len(report.failed())} of {len(report.rows)} requirements")
    for r in report.failed():
        err(f"{r.where(Path(report.file))}: {r.key} requires {r.required}, measured {r.measured}")
    return 0 if report.passed else 1
