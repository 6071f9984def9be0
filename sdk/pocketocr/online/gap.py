"""Offline vs online, per model version: `needs_correction` from `pocketocr eval --json` beside the
online correction rate, flagged when they differ by more than `max_gap` (3 points by default).

A model that scores 99% offline but whose users correct it every time shows here as a large gap.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import PocketOCRError
from .report import SCAN_TYPES, collect_sessions, group_stats
from .storage import Store, redact_url

__all__ = ["DEFAULT_MAX_GAP", "OfflineEvalError", "build_gap_report", "load_offline"]

DEFAULT_MAX_GAP = 0.03


class OfflineEvalError(PocketOCRError, ValueError):
    """An offline evaluation file is missing, not JSON, or lacks `model_version` / `needs_correction`."""


def load_offline(paths: list[Path], model_version: str | None = None) -> list[dict[str, Any]]:
    """Read `pocketocr eval --json` outputs: each file holds one evaluation object or a list of them.

    Args:
        paths: the JSON files.
        model_version: use this version instead of the files' `model_version` (one evaluation only).

    Returns:
        [{"model_version", "task", "n", "needs_correction", "source"}], one per evaluation.

    Raises:
        OfflineEvalError: unreadable file, missing or out-of-range keys, or a version given twice.

    >>> load_offline([Path("eval.json")])  # doctest: +SKIP
    [{'model_version': 'card-1.2', 'task': 'card', 'n': 500, 'needs_correction': 0.04, 'source': 'eval.json'}]
    """
    found: list[dict[str, Any]] = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise OfflineEvalError(f"cannot read offline evaluation {path}: {exc}") from None
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict):
                raise OfflineEvalError(f"{path}: expected an evaluation object or a list of them")
            found.append({**item, "_source": str(path)})
    if model_version is not None and len(found) != 1:
        raise OfflineEvalError(f"--model-version needs exactly one offline evaluation, got {len(found)}")
    out, seen = [], set()
    for item in found:
        version = model_version or item.get("model_version")
        rate = item.get("needs_correction")
        if not isinstance(version, str) or not version:
            raise OfflineEvalError(f"{item['_source']}: no model_version (give --model-version)")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise OfflineEvalError(f"{item['_source']}: needs_correction must be a number in [0, 1]")
        if version in seen:
            raise OfflineEvalError(f"two offline evaluations for model version {version!r}")
        seen.add(version)
        task = item.get("task") if item.get("task") in ("card", "formula") else None
        n = item.get("n") if isinstance(item.get("n"), int) else None
        out.append({"model_version": version, "task": task, "n": n, "needs_correction": float(rate),
                    "source": item["_source"]})
    return out


def build_gap_report(offline: list[dict[str, Any]], store: Store, max_gap: float = DEFAULT_MAX_GAP,
                     since: str | None = None) -> dict[str, Any]:
    """Put each model version's offline needs-correction rate beside its online correction rate.

    Args:
        offline: what `load_offline` returns.
        store: the collector's database.
        max_gap: flag a version when |online - offline| is larger than this (0.03 = 3 points).
        since: only online events at or after this stored-format UTC timestamp.

    Returns:
        {"versions": [{model_version, task, offline_n, offline_needs_correction, online_n_submitted,
        online_correction_rate, online_correction_rate_ci95, gap, offline_in_online_ci95, flagged}],
        "flagged": [versions], "max_gap", ...}. `gap` is online minus offline; it is null, and the
        version not flagged, when either side has no data.
    """
    events = [e for e in store.events(since=since) if e.type in SCAN_TYPES]
    tasks = {o["task"] for o in offline}
    by_version_task: dict[tuple[str, str], list[Any]] = {}
    for s in collect_sessions(events):
        by_version_task.setdefault((s.model_version, s.task), []).append(s)
    offline_by_version = {o["model_version"]: o for o in offline}
    # online versions of the tasks evaluated offline (all tasks when an evaluation does not say)
    online_versions = {v for v, t in by_version_task if None in tasks or t in tasks}
    rows = []
    for version in sorted(set(offline_by_version) | online_versions):
        off = offline_by_version.get(version)
        task = off["task"] if off else None
        sessions = [s for (v, t), group in by_version_task.items()
                    if v == version and (task is None or t == task) for s in group]
        stats = group_stats(sessions)
        online = stats["correction_rate"]
        gap = None if off is None or online is None else online - off["needs_correction"]
        ci = stats["correction_rate_ci95"]
        rows.append({
            "model_version": version,
            "task": task or (sessions[0].task if sessions else None),
            "offline_n": off["n"] if off else None,
            "offline_needs_correction": off["needs_correction"] if off else None,
            "online_n_submitted": stats["n_submitted"],
            "online_correction_rate": online,
            "online_correction_rate_ci95": ci,
            "gap": gap,
            "offline_in_online_ci95": (None if off is None or ci is None
                                       else ci[0] <= off["needs_correction"] <= ci[1]),
            # rounded so that 0.25 - 0.22 (0.030000000000000027 in floats) is not "more than 3 points"
            "flagged": gap is not None and round(abs(gap), 9) > max_gap,
        })
    return {
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "db": redact_url(store.url), "since": since, "max_gap": max_gap,
        "offline_sources": sorted({o["source"] for o in offline}),
        "versions": rows,
        "flagged": [r["model_version"] for r in rows if r["flagged"]],
    }
