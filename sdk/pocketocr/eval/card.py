"""Offline evaluation of the card reader on a labelled folder (labels.jsonl, DEVELOPERS.md format).

Reports the user's view, not one score: exact number, digit CER, expiry, the needs-correction rate
(the offline twin of the online correction rate), how often `needs_review` is raised and right,
latency, digit confusions, and every figure per slice. Full card numbers never enter the report:
numbers are masked and errors are shown as positions.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import Levenshtein
import numpy as np

from ..errors import ImageError, PocketOCRError
from ..results import CardResult
from ..tasks.card.rules import mask_number, parse_expiry
from .progress import progress_bar

__all__ = ["CardLabel", "card_metrics", "evaluate_cards", "load_card_labels"]


@dataclass(frozen=True)
class CardLabel:
    file: Path
    number: str
    expiry: str | None
    slices: dict[str, str]


def load_card_labels(dataset: Path) -> list[CardLabel]:
    """Read `dataset/labels.jsonl`. Extra scalar keys are slice labels; lists/dicts are ignored."""
    dataset = Path(dataset)
    path = dataset / "labels.jsonl"
    if not path.exists():
        raise PocketOCRError(f"{dataset}: no labels.jsonl (expected the card dataset folder format)")
    labels = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            number = "".join(ch for ch in str(row["number"]) if ch.isdigit())
            slices = {k: str(v) for k, v in row.items()
                      if k not in ("file", "number", "expiry") and isinstance(v, (str, int, float, bool))}
            labels.append(CardLabel(dataset / row["file"], number, row.get("expiry"), slices))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise PocketOCRError(f"{path}:{i}: bad label line ({type(exc).__name__}: {exc})") from None
    return labels


def _error_positions(pred: str, truth: str) -> str:
    """'.' for a correct truth digit, 'x' for a substituted or missing one (no digits revealed)."""
    marks = ["."] * len(truth)
    for _, i, _ in Levenshtein.editops(truth, pred):  # replace, delete or insert at truth position i
        if i < len(truth):
            marks[i] = "x"
    return "".join(marks)


def _rate(x: list[bool]) -> float | None:
    return float(np.mean(x)) if x else None


def card_metrics(rows: list[dict]) -> dict[str, Any]:
    """Aggregate per-image rows into the report's figures."""
    n = len(rows)
    exp_rows = [r for r in rows if r["expiry_truth_valid"]]
    flagged = [r for r in rows if r["needs_review"]]
    needing = [r for r in rows if r["needs_correction"]]
    return {
        "n": n,
        "number_exact": _rate([r["number_exact"] for r in rows]),
        "digit_cer": (sum(r["digit_edits"] for r in rows) / max(1, sum(r["digits"] for r in rows))) if rows else None,
        "expiry_exact": _rate([r["expiry_exact"] for r in exp_rows]),
        "expiry_n": len(exp_rows),
        "needs_correction": _rate([r["needs_correction"] for r in rows]),
        "number_abstain": _rate([r["pred_number"] is None for r in rows]),
        "review_rate": _rate([r["needs_review"] for r in rows]),
        # Of the flagged results, how many really needed a correction; of those needing one, how many were flagged.
        "review_precision": _rate([r["needs_correction"] for r in flagged]),
        "review_recall": _rate([r["needs_review"] for r in needing]),
        "errors": sum(1 for r in rows if r.get("error")),
    }


def evaluate_cards(read: Callable[[Path], CardResult], dataset: Path, progress: bool = True,
                   model_version: str = "unknown") -> dict[str, Any]:
    """Run `read` on every labelled image and build the report dict (see module doc).

    Args:
        read: a function image path -> CardResult (e.g. `CardReader(...).read`).
        dataset: folder with labels.jsonl and the images.
        progress: show a progress bar on stderr.
        model_version: recorded in the report (the gap report joins on it).
    """
    labels = load_card_labels(dataset)
    rows: list[dict] = []
    latencies: list[float] = []
    confusions: Counter[tuple[str, str]] = Counter()
    it = progress_bar(labels, "eval card", "img", progress)
    for lab in it:
        error = None
        try:
            res = read(lab.file)
            pred_number, pred_expiry, review = res.number, res.expiry, res.needs_review
            latencies.append(res.timings_ms.get("total", float("nan")))
            boxes = {k: [list(b.box) for b in v] for k, v in res.boxes.items()}
        except (ImageError, PocketOCRError) as exc:
            error, pred_number, pred_expiry, review, boxes = str(exc), None, None, True, {}
        truth_exp = lab.expiry if lab.expiry and parse_expiry(lab.expiry) else None
        pred = pred_number or ""
        if pred and len(pred) == len(lab.number):
            confusions.update((t, p) for t, p in zip(lab.number, pred) if t != p)
        elif pred:
            for op, i, j in Levenshtein.editops(lab.number, pred):
                if op == "replace":
                    confusions[(lab.number[i], pred[j])] += 1
        edits = Levenshtein.distance(pred, lab.number)
        number_ok = pred_number == lab.number
        expiry_ok = pred_expiry == truth_exp
        rows.append({
            "file": str(lab.file.relative_to(dataset)) if lab.file.is_relative_to(dataset) else str(lab.file),
            "slices": lab.slices, "pred_number": mask_number(pred_number), "truth_number": mask_number(lab.number),
            "error_positions": _error_positions(pred, lab.number), "pred_expiry": pred_expiry,
            "truth_expiry": lab.expiry, "number_exact": number_ok, "digit_edits": edits, "digits": len(lab.number),
            "expiry_truth_valid": truth_exp is not None, "expiry_exact": expiry_ok,
            # A user edits a shown field when it is wrong, and types it when it is missing.
            "needs_correction": not (number_ok and expiry_ok), "needs_review": bool(review),
            "boxes": boxes, "error": error,
        })
    report = card_metrics(rows)
    lat = np.asarray([x for x in latencies if not math.isnan(x)])
    report["latency_ms"] = ({"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                             "mean": float(lat.mean())} if len(lat) else {"p50": None, "p95": None, "mean": None})
    slices: dict[str, dict[str, Any]] = defaultdict(dict)
    keys = sorted({k for r in rows for k in r["slices"]})
    for key in keys:
        for value in sorted({r["slices"].get(key, "") for r in rows}):
            slices[key][value] = card_metrics([r for r in rows if r["slices"].get(key, "") == value])
    report["slices"] = dict(slices)
    report["confusions"] = [{"truth": t, "pred": p, "count": c} for (t, p), c in confusions.most_common()]
    report.update({"task": "card", "model_version": model_version, "dataset": str(dataset)})
    report["samples"] = rows
    return report
