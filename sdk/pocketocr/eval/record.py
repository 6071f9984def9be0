"""Write an evaluation's headline figures into the model cards of the models it ran.

A model card's `metrics` are measured at export, with the reader of that day. The reader's decoding changes
after (a retry, a turned read), so the export figures go stale. `pocketocr eval ... --record NAME` measures
again and keeps the new figures beside the old ones, under `metrics.recorded[NAME]`, with the date, the SDK
version and the dataset, so that a card says what the model does with today's reader. Export figures are
left as they were: they are the record of the export's parity gate.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from ..errors import ModelError
from ..zoo import model_card_path

__all__ = ["CARD_KEYS", "FORMULA_KEYS", "check_record_name", "record_metrics"]

CARD_KEYS = ("n", "number_exact", "digit_cer", "expiry_exact", "needs_correction", "review_rate", "latency_ms")
FORMULA_KEYS = ("n", "precision_50", "recall_50", "f1_50", "f1_75", "map", "coverage_recall", "latency_ms")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_record_name(name: str) -> str:
    """`name` if it can key `metrics.recorded`; else ModelError (checked before an evaluation runs)."""
    if not _NAME.match(name):
        raise ModelError(f"--record {name!r}: use letters, digits, '_', '-' or '.' (at most 64)")
    return name


def record_metrics(model_paths: list[Path], name: str, report: dict, keys: tuple[str, ...], *, dataset: Path,
                   context: dict | None = None, today: dt.date | None = None) -> list[Path]:
    """Store `report`'s `keys` as `metrics.recorded[name]` in each model's card (`<model file>.json`).

    Every card is checked before any is written, so a missing or unreadable card changes none of them.
    Returns the cards written. Raises ModelError naming the card or the bad name.
    """
    check_record_name(name)
    cards = []
    for model in model_paths:
        path = model_card_path(model)
        try:
            card = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{path}: no model card next to {Path(model).name}") from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: unreadable model card ({exc})") from None
        if not isinstance(card, dict) or not isinstance(card.get("metrics", {}), dict):
            raise ModelError(f"{path}: not a model card (no metrics object)")
        cards.append((path, card))
    from .. import __version__

    entry = {k: report.get(k) for k in keys}
    # The folder's name only: an absolute path would put this machine's layout into a shipped file.
    entry.update({"dataset": Path(dataset).resolve().name, "measured": (today or dt.date.today()).isoformat(),
                  "sdk_version": __version__, **(context or {})})
    written = []
    for path, card in cards:
        card.setdefault("metrics", {}).setdefault("recorded", {})[name] = entry
        tmp = path.with_name(path.name + ".tmp")  # a card is replaced whole, never left half written
        try:
            tmp.write_text(json.dumps(card, indent=2) + "\n")
            tmp.replace(path)
        except OSError as exc:
            raise ModelError(f"{path}: cannot write the model card ({exc.strerror or exc})") from None
        written.append(path)
    return written
