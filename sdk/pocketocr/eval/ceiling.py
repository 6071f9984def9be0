"""Which model a card miss belongs to: the recogniser read alone on the labelled field quads.

A photo whose number (or expiry) the reader misses is either one the recogniser cannot read even from the
labelled field (a recogniser miss, or a photo nobody could read), or one it can, so the detector or the decoding
lost it. The split says which model to work on next. It needs labels with `number_quads` (one (tl, tr, br, bl)
quad per printed line, as the synthetic generator writes) and, for the expiry, `expiry_quad`; other rows are
counted as skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ImageError, PocketOCRError
from ..tasks.card.post import choose_expiry
from ..tasks.card.rules import parse_expiry
from .progress import progress_bar

__all__ = ["recogniser_ceiling"]

_OUTCOMES = ("right", "withheld", "wrong")
_SLICE_KEYS = ("n", "reader_exact", "recogniser_exact", "misses_detector_side", "misses_recogniser_side")


def _is_quad(q: Any) -> bool:
    """Four (x, y) points of finite numbers."""
    return (isinstance(q, list) and len(q) == 4 and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in p)
        for p in q))


def _labelled_quads(dataset: Path) -> dict[str, dict[str, Any]]:
    """{file: {"number", "quads", "expiry", "expiry_quad"}} for the rows whose number quads are all well formed;
    "expiry" and "expiry_quad" are None unless the row has both a valid MM/YY and a well-formed quad."""
    out = {}
    for line in (Path(dataset) / "labels.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)  # the evaluation has read the same file already: it parses
            quads = row.get("number_quads")
            if isinstance(quads, list) and quads and all(_is_quad(q) for q in quads):
                expiry = parse_expiry(str(row["expiry"])) if row.get("expiry") else None
                quad = row.get("expiry_quad") if _is_quad(row.get("expiry_quad")) else None
                out[str(Path(row["file"]))] = {
                    "number": "".join(ch for ch in str(row["number"]) if ch.isdigit()), "quads": row["number_quads"],
                    "expiry": expiry if quad else None, "expiry_quad": quad if expiry else None}
    return out


def _summary(pairs: list[tuple[str, bool]]) -> dict[str, Any]:
    n = len(pairs)
    table = {o: {"rec_right": sum(1 for a, b in pairs if a == o and b),
                 "rec_wrong": sum(1 for a, b in pairs if a == o and not b)} for o in _OUTCOMES}
    missed = n - sum(table["right"].values())
    return {"n": n, "reader_exact": sum(table["right"].values()) / n if n else None,
            "recogniser_exact": sum(1 for _, b in pairs if b) / n if n else None,
            # misses the recogniser reads from the labelled quads: the detector or the decoding lost them
            "misses_detector_side": table["withheld"]["rec_right"] + table["wrong"]["rec_right"],
            "misses_recogniser_side": table["withheld"]["rec_wrong"] + table["wrong"]["rec_wrong"],
            "misses": missed, "table": table}


def _split(pairs: list[tuple[str, bool, dict]]) -> dict[str, Any]:
    """The summary over all pairs, and per value of each slice key."""
    report = _summary([(a, b) for a, b, _ in pairs])
    slices: dict[str, dict[str, Any]] = {}
    for key in sorted({k for *_, sl in pairs for k in sl}):
        slices[key] = {}
        for value in sorted({sl.get(key, "") for *_, sl in pairs}):
            sub = _summary([(a, b) for a, b, sl in pairs if sl.get(key, "") == value])
            slices[key][value] = {k: sub[k] for k in _SLICE_KEYS}
    report["slices"] = slices
    return report


def _outcome(right: bool, shown: object) -> str:
    return "right" if right else ("withheld" if shown is None else "wrong")


def recogniser_ceiling(read_texts: Callable[[Path, list], list[str]], dataset: Path, samples: list[dict],
                       progress: bool = True) -> dict[str, Any]:
    """Read each labelled number quad, and each labelled expiry quad, with `read_texts(image, quads)` (one text
    per quad, e.g. `CardReader.read_quad_texts`) and cross it with the evaluation's own outcome per image
    (`samples`, the rows of `evaluate_cards`; each row read gets `ceiling_rec_right`, whether the recogniser alone
    read the number right, and, where the expiry was labelled with its quad, `ceiling_expiry_rec_right`). Rows
    whose quads are not four (x, y) points are skipped (the expiry alone: not read).

    Returns {"n", "skipped", "reader_exact", "recogniser_exact", "misses", "misses_detector_side",
    "misses_recogniser_side", "table": {right|withheld|wrong: {rec_right, rec_wrong}}, "slices", "expiry"} for
    the number; "expiry" holds the same keys (but "skipped") for the expiry. The expiry read alone counts as right
    when its best path holds the labelled date, as the reader takes it (`choose_expiry`: the date either side of
    the last slash, so the end of a label in the crop does not count against it).
    """
    dataset = Path(dataset)
    labelled = _labelled_quads(dataset)
    todo = [s for s in samples if s["file"] in labelled and s.get("error") is None]
    it = progress_bar(todo, "ceiling", "img", progress)
    numbers: list[tuple[str, bool, dict]] = []
    expiries: list[tuple[str, bool, dict]] = []
    for s in it:
        lab = labelled[s["file"]]
        try:
            texts = read_texts(dataset / s["file"], lab["quads"] + ([lab["expiry_quad"]] if lab["expiry_quad"] else []))
            text = "".join(texts[:len(lab["quads"])])
            exp_text = texts[len(lab["quads"])] if lab["expiry_quad"] else None
        except (ImageError, PocketOCRError):
            continue  # the evaluation read this image; a failure here is counted as skipped
        s["ceiling_rec_right"] = text.replace("/", "") == lab["number"]  # for the failure gallery (no digits kept)
        numbers.append((_outcome(s["number_exact"], s["pred_number"]), s["ceiling_rec_right"], s["slices"]))
        if exp_text is not None:
            s["ceiling_expiry_rec_right"] = choose_expiry(exp_text, [1.0] * len(exp_text))[0] == lab["expiry"]
            expiries.append((_outcome(s["expiry_exact"], s["pred_expiry"]), s["ceiling_expiry_rec_right"],
                             s["slices"]))
    report = _split(numbers)
    report["skipped"] = len(samples) - len(numbers)
    report["expiry"] = _split(expiries)
    return report
