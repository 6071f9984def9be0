"""`pocketocr export-feedback`: consented formula sessions -> a labelled dataset (evaluation folder format).

    pocketocr export-feedback --db URL --out DIR [--since DATE]

Writes DIR/images/* and DIR/annotations.jsonl (the users' submitted boxes as labels) and prints a JSON
summary. Only formula sessions whose users consented to share the image; never cards.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `export-feedback`."""
    p = sub.add_parser("export-feedback", help="write consented formula sessions as a labelled dataset")
    p.add_argument("--db", metavar="URL", default=None,
                   help="database: sqlite:///PATH, PATH or postgresql://... (default: the collector's)")
    p.add_argument("--out", metavar="DIR", type=Path, required=True, help="dataset folder to write")
    p.add_argument("--since", metavar="DATE",
                   help="only sessions submitted at or after DATE (YYYY-MM-DD, UTC midnight)")
    return p


def run(args: argparse.Namespace) -> int:
    """Export and print {"out", "n", "skipped"}."""
    from pocketocr.errors import PocketOCRError
    from pocketocr.online.feedback_export import export_feedback
    from pocketocr.online.storage import open_store
    from pocketocr.online.timestamps import parse_since

    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return 1
    try:
        store = open_store(args.db, create=False)
        try:
            summary = export_feedback(store, args.out, since=since)
        finally:
            store.close()
    except (PocketOCRError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0
