"""The online report: user-correction rate, abandon rate, latency and VoC, from the collector's database.

Definitions (docs/online.md has them too):
- A *session* is one `session_id` with at least one scan event (scan_result, scan_submitted,
  scan_abandoned). It is *submitted* if it has a scan_submitted event, else *abandoned* if it has a
  scan_abandoned event, else *open* (the app never said how it ended).
- A submitted session is *edited* when any field of its last scan_submitted event was edited: for
  cards `number.edited` or `expiry.edited`; for formulas any box added, removed or adjusted.
- `correction_rate` = edited submitted sessions / submitted sessions; `per_field[f]` = sessions with
  field f edited / submitted sessions that have field f; `abandon_rate` = abandoned / (submitted +
  abandoned). Every rate has a Wilson 95% interval beside it (`..._ci95`), and is null with no data.
- A session's model version, app version and platform come from its last scan event; its day is the
  UTC date of its first event. Latency percentiles use every scan_result event (linear interpolation).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .charts import nice_max
from .pan import scrub_text
from .storage import Store, StoredEvent, redact_url

__all__ = ["SCAN_TYPES", "Z95", "Session", "build_online_report", "collect_sessions", "group_stats", "percentile",
           "wilson"]

Z95 = 1.959963984540054  # two-sided 95% normal quantile
SCAN_TYPES = ("scan_result", "scan_submitted", "scan_abandoned")


def wilson(k: int, n: int, z: float = Z95) -> list[float] | None:
    """Wilson score interval for k successes in n trials; None when n is 0.

    Args:
        k: successes (e.g. edited sessions).
        n: trials (e.g. submitted sessions).
        z: normal quantile; the default gives a 95% interval.

    Returns:
        [low, high], within [0, 1].

    >>> [round(x, 4) for x in wilson(1, 4)]
    [0.0456, 0.6994]
    """
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # exact ends at k = 0 and k = n (the formula gives them only up to rounding)
    return [0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half)]


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) with linear interpolation between order statistics (numpy's default).

    >>> percentile([10, 20, 30, 40], 0.5)
    25.0
    """
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (h - lo) * (xs[hi] - xs[lo]))


@dataclass
class Session:
    """One scan session, folded from its events."""

    session_id: str
    task: str = ""
    model_version: str = ""
    app_version: str = ""
    platform: str = ""
    day: str = ""
    submitted: dict[str, Any] | None = None
    abandoned: str | None = None          # the reason
    latencies: list[dict[str, float]] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.submitted is not None:
            return "submitted"
        return "abandoned" if self.abandoned is not None else "open"

    def edits(self) -> dict[str, bool]:
        """{field: edited} of the submitted event."""
        fields = (self.submitted or {}).get("fields") or {}
        out = {}
        for name, edit in fields.items():
            if not isinstance(edit, dict):
                continue
            if name == "boxes":
                out[name] = any(int(edit.get(k) or 0) > 0 for k in ("added", "removed", "adjusted"))
            else:
                out[name] = bool(edit.get("edited"))
        return out


def collect_sessions(events: list[StoredEvent]) -> list[Session]:
    """Scan events (in time order) -> one `Session` per session id."""
    sessions: dict[str, Session] = {}
    for e in events:  # in time order, so later events overwrite the session's attributes
        s = sessions.get(e.session_id)
        if s is None:
            s = sessions[e.session_id] = Session(e.session_id, day=e.ts[:10])
        s.task, s.model_version, s.app_version = e.task, e.model_version, e.app_version
        s.platform = e.platform
        if e.type == "scan_result":
            lat = e.body.get("latency_ms") or {}
            s.latencies.append({k: float(v) for k, v in lat.items() if isinstance(v, (int, float))})
        elif e.type == "scan_submitted":
            s.submitted = e.body
        elif e.type == "scan_abandoned":
            s.abandoned = str(e.body.get("reason", "unknown"))
    return list(sessions.values())


def _rate(k: int, n: int) -> tuple[float | None, list[float] | None]:
    return (k / n if n else None), wilson(k, n)


def _histogram(xs: list[float], bins: int = 30) -> dict[str, list[float] | list[int]]:
    """Counts over `bins` equal bins from 0 to a round number above the 99.5th percentile; the last bin
    also holds the few values above it."""
    if not xs:
        return {"edges": [], "counts": []}
    top = nice_max(percentile(xs, 0.995) or 0.0)
    counts = [0] * bins
    for v in xs:
        counts[min(bins - 1, max(0, int(v / top * bins)))] += 1
    return {"edges": [top * i / bins for i in range(bins + 1)], "counts": counts}


def _latency(sessions: list[Session], histogram: bool = False) -> dict[str, dict[str, Any]]:
    out = {}
    for key in ("model", "end_to_end"):
        xs = [lat[key] for s in sessions for lat in s.latencies if key in lat]
        out[key] = {"n": len(xs), "p50": percentile(xs, 0.50), "p95": percentile(xs, 0.95),
                    "p99": percentile(xs, 0.99)}
        if histogram:
            out[key]["histogram"] = _histogram(xs)
    return out


def group_stats(sessions: list[Session]) -> dict[str, Any]:
    """Counts and rates of one group of sessions."""
    outcomes = Counter(s.outcome for s in sessions)
    submitted = [s for s in sessions if s.outcome == "submitted"]
    edits = [s.edits() for s in submitted]
    n_edited = sum(any(e.values()) for e in edits)
    per_field_k: Counter[str] = Counter()
    per_field_n: Counter[str] = Counter()
    for e in edits:
        for name, edited in e.items():
            per_field_n[name] += 1
            per_field_k[name] += edited
    n_sub, n_ab = outcomes["submitted"], outcomes["abandoned"]
    correction_rate, correction_ci = _rate(n_edited, n_sub)
    abandon_rate, abandon_ci = _rate(n_ab, n_sub + n_ab)
    return {
        "n_sessions": len(sessions), "n_submitted": n_sub, "n_abandoned": n_ab, "n_open": outcomes["open"],
        "n_edited": n_edited,
        "correction_rate": correction_rate, "correction_rate_ci95": correction_ci,
        "per_field": {f: per_field_k[f] / per_field_n[f] for f in sorted(per_field_n)},
        "per_field_counts": {f: {"edited": per_field_k[f], "n": per_field_n[f],
                                 "ci95": wilson(per_field_k[f], per_field_n[f])}
                             for f in sorted(per_field_n)},
        "abandon_rate": abandon_rate, "abandon_rate_ci95": abandon_ci,
        "latency_ms": _latency(sessions),
    }


def _by(sessions: list[Session], attr: str) -> dict[str, dict[str, Any]]:
    return {k: group_stats(group) for k, group in _group(sessions, attr).items()}


def _daily(sessions: list[Session]) -> dict[str, dict[str, Any]]:
    """Compact per-day correction rates (for the over-time plot of each model version)."""
    out = {}
    for day, group in _group(sessions, "day").items():
        sub = [s for s in group if s.outcome == "submitted"]
        k = sum(any(s.edits().values()) for s in sub)
        rate, ci = _rate(k, len(sub))
        out[day] = {"n_submitted": len(sub), "n_edited": k, "correction_rate": rate,
                    "correction_rate_ci95": ci}
    return out


def _group(sessions: list[Session], attr: str) -> dict[str, list[Session]]:
    groups: dict[str, list[Session]] = defaultdict(list)
    for s in sessions:
        groups[getattr(s, attr)].append(s)
    return {k: groups[k] for k in sorted(groups)}


def _feedback(events: list[StoredEvent], latest: int) -> dict[str, Any]:
    ratings = [int(e.body["rating"]) for e in events if isinstance(e.body.get("rating"), int)]
    by_category = Counter(e.body.get("category") or "uncategorized" for e in events)
    items = []
    for e in sorted(events, key=lambda e: (e.ts, e.event_id), reverse=True):
        items.append({
            "ts": e.ts, "category": e.body.get("category") or "uncategorized", "rating": e.body.get("rating"),
            # scrubbed at ingestion; scrubbed again in case the database was written some other way
            "text": scrub_text(str(e.body.get("text", "")))[0],
            "task": e.task, "model_version": e.model_version, "app_version": e.app_version,
            "platform": e.platform,
        })
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        if len(examples[item["category"]]) < 5:
            examples[item["category"]].append(item)
    return {
        "n": len(events),
        "by_category": dict(by_category.most_common()),
        "rating": {"n": len(ratings), "mean": sum(ratings) / len(ratings) if ratings else None,
                   "counts": {str(r): ratings.count(r) for r in range(1, 6)}},
        "latest": items[:latest],
        "examples": {c: examples[c] for c in by_category},
    }


def build_online_report(store: Store, since: str | None = None, task: str | None = None,
                        alert_above: float | None = None, latest: int = 20) -> dict[str, Any]:
    """Compute the online report.

    Args:
        store: the collector's database.
        since: only events at or after this stored-format UTC timestamp (`timestamps.parse_since`).
        task: only "card" or only "formula" events; None for both.
        alert_above: mark model versions whose correction rate is above this (0..1).
        latest: how many of the latest feedback texts to list.

    Returns:
        A JSON-ready dict: `n_sessions`, `n_submitted`, `correction_rate` (+ `_ci95`), `per_field`,
        `abandon_rate`, `latency_ms`, `by_model_version`, `by_app_version`, `by_device_platform`,
        `by_task`, `by_day`, `feedback`, `pans_masked`, `alerts`, ...

    >>> report = build_online_report(open_store("events.sqlite3", create=False))  # doctest: +SKIP
    >>> report["correction_rate"]  # doctest: +SKIP
    0.0625
    """
    events = store.events(since=since, task=task)
    sessions = collect_sessions([e for e in events if e.type in SCAN_TYPES])
    report: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "db": redact_url(store.url), "since": since, "task": task,
        **group_stats(sessions),
        "latency_ms": _latency(sessions, histogram=True),
        "abandon_reasons": dict(Counter(s.abandoned for s in sessions
                                        if s.outcome == "abandoned").most_common()),
    }
    by_model = _by(sessions, "model_version")
    daily = {v: _daily(g) for v, g in _group(sessions, "model_version").items()}
    for version, stats in by_model.items():
        stats["by_day"] = daily[version]
        if alert_above is not None:
            rate = stats["correction_rate"]
            stats["alert"] = rate is not None and rate > alert_above
    report.update({
        "by_model_version": by_model,
        "by_app_version": _by(sessions, "app_version"),
        "by_device_platform": _by(sessions, "platform"),
        "by_task": _by(sessions, "task"),
        "by_day": _by(sessions, "day"),
        "feedback": _feedback([e for e in events if e.type == "feedback"], latest),
        "pans_masked": sum(e.pans_masked for e in events),
        "alert_above": alert_above,
        "alerts": [v for v, s in by_model.items() if s.get("alert")],
    })
    return report
