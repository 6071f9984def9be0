"""`pocketocr report`: reports on the collector's database.

    pocketocr report online [--db URL] [--since DATE] [--task card|formula] [--json] [--html FILE]
                            [--alert-above RATE]
    pocketocr report gap --offline EVAL.json [--offline ...] [--db URL] [--model-version V]
                         [--max-gap RATE] [--since DATE] [--json] [--html FILE] [--fail-on-gap]

RATE is a fraction (0.05) or a percentage (5%). Exit codes: 0 done, 1 error, 3 `--fail-on-gap` and a
version was flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]

EXIT_GAP = 3
_RATE_HINT = "give a fraction (0.05) or a percentage (5%)"
_DB_HELP = "database: sqlite:///PATH, PATH or postgresql://... (default: the collector's default SQLite file)"


def _rate(text: str) -> float:
    """'0.05' or '5%' -> 0.05."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate: {_RATE_HINT}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not in [0, 1]: {_RATE_HINT}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", default=None, help=_DB_HELP)
    p.add_argument("--since", metavar="DATE",
                   help="only events at or after DATE (YYYY-MM-DD, UTC midnight) or an RFC 3339 timestamp")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--html", metavar="FILE", type=Path, help="write a self-contained HTML report")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `report online` and `report gap`."""
    p = sub.add_parser("report", help="online reports: correction rate, VoC, offline-online gap")
    rsub = p.add_subparsers(dest="report_command", metavar="{online,gap}", required=True)
    online = rsub.add_parser("online", help="correction rate, latency, abandon rate and feedback")
    _common(online)
    online.add_argument("--task", choices=["card", "formula"], help="only this task (default: both)")
    online.add_argument("--alert-above", metavar="RATE", type=_rate,
                        help="mark model versions whose correction rate is above RATE")
    online.add_argument("--latest", type=int, default=20, metavar="N", help="latest feedback texts to list")
    gap = rsub.add_parser("gap", help="offline needs-correction vs online correction rate per model version")
    gap.add_argument("--offline", metavar="EVAL.json", type=Path, action="append", required=True,
                     help="output of `pocketocr eval ... --json`: one object or a list (repeatable)")
    _common(gap)
    gap.add_argument("--model-version", metavar="V", help="the version evaluated offline, if the file lacks it")
    gap.add_argument("--max-gap", metavar="RATE", type=_rate, default=0.03,
                     help="flag versions whose rates differ by more than RATE (default: 0.03)")
    gap.add_argument("--fail-on-gap", action="store_true", help=f"exit {EXIT_GAP} when any version is flagged")
    return p


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def _ci(ci: list[float] | None) -> str:
    return "-" if not ci else f"[{ci[0] * 100:.1f}, {ci[1] * 100:.1f}]%"


def _print_online(r: dict) -> None:
    print(f"sessions {r['n_sessions']}, submitted {r['n_submitted']}, abandoned {r['n_abandoned']}, "
          f"open {r['n_open']}")
    print(f"correction rate {_pct(r['correction_rate'])} {_ci(r['correction_rate_ci95'])}; "
          f"abandon rate {_pct(r['abandon_rate'])} {_ci(r['abandon_rate_ci95'])}")
    print("per field: " + (", ".join(f"{f} {_pct(v)}" for f, v in r["per_field"].items()) or "-"))
    lat = r["latency_ms"]
    print("latency ms p50/p95/p99: " + "; ".join(
        f"{k} " + "/".join("-" if lat[k][p] is None else f"{lat[k][p]:.0f}" for p in ("p50", "p95", "p99"))
        for k in lat))
    print(f"{'model version':<24}{'submitted':>10}{'rate':>9}  95% CI")
    for v, s in r["by_model_version"].items():
        flag = "  ALERT" if s.get("alert") else ""
        print(f"{v:<24}{s['n_submitted']:>10}{_pct(s['correction_rate']):>9}  "
              f"{_ci(s['correction_rate_ci95'])}{flag}")
    fb = r["feedback"]
    print(f"feedback {fb['n']}: " + (", ".join(f"{c} {n}" for c, n in fb["by_category"].items()) or "-"))


def _print_gap(g: dict) -> None:
    print(f"{'model version':<24}{'offline':>9}{'online':>9}{'n online':>10}{'gap':>8}")
    for r in g["versions"]:
        gap = "-" if r["gap"] is None else f"{r['gap'] * 100:+.1f}"
        flag = "  GAP" if r["flagged"] else ""
        print(f"{r['model_version']:<24}{_pct(r['offline_needs_correction']):>9}"
              f"{_pct(r['online_correction_rate']):>9}{r['online_n_submitted']:>10}{gap:>8}{flag}")


def run(args: argparse.Namespace) -> int:
    """Build the report, print it (text or --json) and write --html."""
    # Standard library only: the reports run without the [server] extra on SQLite (PostgreSQL needs psycopg).
    from pocketocr.errors import PocketOCRError
    from pocketocr.online.report import build_online_report
    from pocketocr.online.storage import open_store
    from pocketocr.online.timestamps import parse_since

    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(f"error: --since: {exc}", file=sys.stderr)
        return 1
    try:
        store = open_store(args.db, create=False)
    except PocketOCRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        if args.report_command == "online":
            from pocketocr.online.render import online_html

            result = build_online_report(store, since=since, task=args.task, alert_above=args.alert_above,
                                         latest=args.latest)
            page, printer = online_html, _print_online
        else:
            from pocketocr.online.gap import build_gap_report, load_offline
            from pocketocr.online.render import gap_html

            offline = load_offline(args.offline, args.model_version)
            result = build_gap_report(offline, store, max_gap=args.max_gap, since=since)
            page, printer = gap_html, _print_gap
    except PocketOCRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(page(result), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        printer(result)
    if args.report_command == "gap" and args.fail_on_gap and result["flagged"]:
        return EXIT_GAP
    return 0
