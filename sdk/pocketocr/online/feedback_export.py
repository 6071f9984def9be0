"""Close the loop: consented formula sessions -> a labelled dataset in the evaluation folder format.

The output is what `pocketocr eval` and the formula training code read (as `devsets/formula/`):

    OUT/images/<session>.png|jpg
    OUT/annotations.jsonl     {"file", "width", "height", "boxes": [[x1, y1, x2, y2, kind], ...], ...}

with the user's submitted boxes as labels. Only `scan_submitted` events of the formula task with
`consent: true` and an uploaded image qualify; card sessions never carry images.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from .storage import Store

__all__ = ["export_feedback"]

_EXT = {"image/jpeg": ".jpg", "image/png": ".png"}


def _stem(session_id: str, event_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", session_id)[:80]
    # a short hash of the event keeps names unique even when sanitising makes two session ids equal
    return f"{safe}_{hashlib.sha256(event_id.encode()).hexdigest()[:8]}"


def export_feedback(store: Store, out_dir: Path, since: str | None = None) -> dict[str, Any]:
    """Write every consented formula session with an image as images + `annotations.jsonl`.

    Args:
        store: the collector's database.
        out_dir: the dataset folder (created; `annotations.jsonl` is replaced).
        since: only sessions submitted at or after this stored-format UTC timestamp.

    Returns:
        {"out": folder, "n": images written, "skipped": {"no_consent": k, "no_image": m}}.

    >>> export_feedback(open_store("events.sqlite3", create=False), Path("feedback_ds"))  # doctest: +SKIP
    {'out': 'feedback_ds', 'n': 12, 'skipped': {'no_consent': 40, 'no_image': 0}}
    """
    out_dir = Path(out_dir)
    latest: dict[str, Any] = {}
    for e in store.events(since=since, types=("scan_submitted",), task="formula"):
        latest[e.session_id] = e  # time order: the last submit of a session wins
    rows, skipped = [], {"no_consent": 0, "no_image": 0}
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    for e in sorted(latest.values(), key=lambda e: (e.ts, e.event_id)):
        body = e.body
        if body.get("consent") is not True:
            skipped["no_consent"] += 1
            continue
        meta = body.get("image")
        stored = store.image(e.event_id) if isinstance(meta, dict) else None
        if stored is None or body.get("boxes") is None:
            skipped["no_image"] += 1
            continue
        media_type, data = stored
        name = f"images/{_stem(e.session_id, e.event_id)}{_EXT.get(media_type, '.bin')}"
        (out_dir / name).write_bytes(data)
        rows.append({
            "file": name, "width": meta["width"], "height": meta["height"], "boxes": body["boxes"],
            "source": "online", "session_id": e.session_id, "event_id": e.event_id, "ts": e.ts,
            "model_version": e.model_version, "app_version": e.app_version,
            "edits": (body.get("fields") or {}).get("boxes"),
        })
    tmp = out_dir / "annotations.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    os.replace(tmp, out_dir / "annotations.jsonl")
    return {"out": str(out_dir), "n": len(rows), "skipped": skipped}
