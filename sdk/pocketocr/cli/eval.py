"""`pocketocr eval card|formula DATASET [--html report.html] [--json]`: offline evaluation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import add_backend, add_max_side, add_no_snap, add_threads, err, formula_config, max_side_kwargs

__all__ = ["add_parser", "run"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("eval", help="offline evaluation on a labelled dataset folder")
    p.add_argument("task", choices=["card", "formula"])
    p.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    p.add_argument("--html", type=Path, default=None, help="write a self-contained HTML report with a failure gallery")
    p.add_argument("--json", action="store_true", help="print one JSON object (no per-image samples)")
    p.add_argument("--samples", action="store_true", help="with --json: include the per-image rows")
    p.add_argument("--det-model", default=None, help="card detector / formula detector model (default: shipped)")
    p.add_argument("--rec-model", default=None, help="card recogniser model (default: shipped)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--ceiling", action="store_true",
                   help="card: also read the labelled number and expiry quads with the recogniser alone, and split the "
                        "misses between the detector and the recogniser (needs number_quads, and expiry_quad for "
                        "the expiry, in the labels)")
    p.add_argument("--record", default=None, metavar="NAME",
                   help="also write the headline figures into the model cards of the models evaluated, under "
                        "metrics.recorded.NAME (with the date, SDK version and dataset folder)")
    add_backend(p)
    add_threads(p)
    add_max_side(p)
    add_no_snap(p)
    return p


def _print_summary(rep: dict, keys: list[str]) -> None:
    print("  ".join(f"{k}={rep[k]:.4f}" if isinstance(rep.get(k), float) else f"{k}={rep.get(k)}" for k in keys))
    for key, values in rep.get("slices", {}).items():
        for value, m in values.items():
            print(f"  [{key}={value}] " + "  ".join(
                f"{k}={m[k]:.3f}" if isinstance(m.get(k), float) else f"{k}={m.get(k)}" for k in keys if k in m))


def _print_ceiling(c: dict) -> None:
    if not c["n"]:
        print(f"ceiling: no labelled number_quads to read ({c['skipped']} images skipped)")
        return
    print(f"ceiling: the recogniser alone reads {c['recogniser_exact']:.4f} of {c['n']} labelled number quads "
          f"(the reader {c['reader_exact']:.4f}); of {c['misses']} misses, {c['misses_detector_side']} are read "
          f"from the labelled quads (detector or decoding side) and {c['misses_recogniser_side']} are not "
          f"(recogniser side, or unreadable); {c['skipped']} skipped")
    _print_ceiling_slices(c)
    e = c.get("expiry")
    if e and e["n"]:
        print(f"ceiling, expiry: the recogniser alone reads {e['recogniser_exact']:.4f} of {e['n']} labelled expiry "
              f"quads (the reader {e['reader_exact']:.4f}); of {e['misses']} misses, {e['misses_detector_side']} are "
              f"read from the labelled quad (detector or decoding side) and {e['misses_recogniser_side']} are not")
        _print_ceiling_slices(e)


def _print_ceiling_slices(c: dict) -> None:
    for key, values in c["slices"].items():
        for value, m in values.items():
            print(f"  [{key}={value}] n={m['n']}  reader={m['reader_exact']:.3f}  recogniser={m['recogniser_exact']:.3f}"
                  f"  misses: detector side {m['misses_detector_side']}, recogniser side {m['misses_recogniser_side']}")


def run(args) -> int:
    from ..errors import PocketOCRError

    if not args.dataset.is_dir():
        err(f"{args.dataset}: not a dataset folder")
        return 2
    try:
        side = max_side_kwargs(args)
    except ValueError as exc:
        err(str(exc))
        return 2
    if args.no_snap and args.task != "formula":
        err("--no-snap is for formula boxes; card fields are not snapped")
        return 2
    if args.ceiling and args.task != "card":
        err("--ceiling is for cards: it reads the labelled number and expiry quads with the card recogniser")
        return 2
    try:
        if args.record:
            from ..eval.record import check_record_name

            check_record_name(args.record)
        if args.task == "card":
            from ..eval.card import evaluate_cards
            from ..eval.html import card_report_html
            from ..tasks.card.predictor import CardReader

            reader = CardReader(args.det_model, args.rec_model, backend=args.backend, threads=args.threads,
                                **side)
            rep = evaluate_cards(reader.read, args.dataset, progress=not args.no_progress,
                                 model_version=reader.model_version)
            if args.ceiling:
                from ..eval.ceiling import recogniser_ceiling

                rep["ceiling"] = recogniser_ceiling(reader.read_quad_texts, args.dataset, rep["samples"],
                                                    progress=not args.no_progress)
            html = card_report_html(rep, args.dataset) if args.html else None
            models, version = [reader.det.path, reader.rec.path], reader.model_version
            keys = ["n", "number_exact", "digit_cer", "expiry_exact", "needs_correction", "review_rate",
                    "review_precision", "number_abstain"]
        else:
            from ..eval.formula import evaluate_formulas, formula_report_html
            from ..tasks.formula.predictor import FormulaDetector

            det = FormulaDetector(args.det_model, backend=args.backend, threads=args.threads,
                                  config=formula_config(args), **side)
            rep = evaluate_formulas(det.detect, args.dataset, progress=not args.no_progress,
                                    model_version=det.model_version)
            html = formula_report_html(rep, args.dataset) if args.html else None
            models, version = [det.det.path], det.model_version
            keys = ["n", "precision_50", "recall_50", "f1_50", "f1_75", "map", "coverage_recall"]
        if args.record:
            from ..eval.record import CARD_KEYS, FORMULA_KEYS, record_metrics

            written = record_metrics(models, args.record, rep, CARD_KEYS if args.task == "card" else FORMULA_KEYS,
                                     dataset=args.dataset, context={"model_version": version,
                                                                    "backend": args.backend,
                                                                    "threads": args.threads or 1, **side,
                                                                    **({"snap": False} if args.no_snap else {})})
    except PocketOCRError as exc:
        err(str(exc))
        return 2
    if html is not None:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(html)
    samples = rep.pop("samples", None)
    if args.json:
        if args.samples:
            rep["samples"] = samples
        print(json.dumps(rep, indent=2))
    else:
        _print_summary(rep, keys)
        print(f"latency_ms p50={rep['latency_ms']['p50']} p95={rep['latency_ms']['p95']}")
        if "ceiling" in rep:
            _print_ceiling(rep["ceiling"])
        if args.html:
            print(f"report: {args.html}")
    if args.record:
        print(f"recorded as metrics.recorded.{args.record} in " + ", ".join(p.name for p in written),
              file=sys.stderr if args.json else sys.stdout)
    return 0
