"""Which model a card miss belongs to: the recogniser read alone on the labelled number quads.

A photo whose number the reader misses is either one the recogniser cannot read even from the labelled field
(a recogniser miss, or a photo nobody could read), or one it can, so the detector or the decoding lost it.
The split says which model to work on next. It needs labels with `number_quads` (one (tl, tr, br, bl) quad
per printed line, as the synthetic generator writes); other rows are counted as skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ImageError, PocketOCRError
from .progress import progress_bar

__all__ = ["recogniser_ceiling"]

_OUTCOMES = ("right", "withheld", "wrong")


def _labelled_quads(dataset: Path) -> dict[str, tuple[str, list]]:
    """{file: (number digits, its number quads)} for the rows that have quads."""
    out = {}
    for line in (Path(dataset) / "labels.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)  # the evaluation has read the same file already: it parses
            if isinstance(row.get("number_quads"), list) and row["number_quads"]:
                digits = "".join(ch for ch in str(row["number"]) if ch.isdigit())
                out[str(Path(row["file"]))] = (digits, row["number_quads"])
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


def recogniser_ceiling(read_quads: Callable[[Path, list], str], dataset: Path, samples: list[dict],
                       progress: bool = True) -> dict[str, Any]:
    """Read each labelled number quad with `read_quads(image, quads)` (e.g. `CardReader.read_quads`) and cross
    it with the evaluation's own outcome per image (`samples`, the rows of `evaluate_cards`; each row read gets
    `ceiling_rec_right`, whether the recogniser alone read the number right).

    Returns {"n", "skipped", "reader_exact", "recogniser_exact", "misses", "misses_detector_side",
    "misses_recogniser_side", "table": {right|withheld|wrong: {rec_right, rec_wrong}}, "slices"}.
    """
    dataset = Path(dataset)
    labelled = _labelled_quads(dataset)
    todo = [s for s in samples if s["file"] in labelled and s.get("error") is None]
    it = progress_bar(todo, "ceiling", "img", progress)
    pairs: list[tuple[str, bool, dict]] = []
    for s in it:
        try:
            number, quads = labelled[s["file"]]
            text = read_quads(dataset / s["file"], quads)
        except (ImageError, PocketOCRError):
            continue  # the evaluation read this image; a failure here is counted as skipped
        outcome = "right" if s["number_exact"] else ("withheld" if s["pred_number"] is None else "wrong")
        s["ceiling_rec_right"] = text.replace("/", "") == number  # for the failure gallery (no digits kept)
        pairs.append((outcome, s["ceiling_rec_right"], s["slices"]))
    report = _summary([(a, b) for a, b, _ in pairs])
    report["skipped"] = len(samples) - len(pairs)
    slices: dict[str, dict[str, Any]] = {}
    for key in sorted({k for *_, sl in pairs for k in sl}):
        slices[key] = {}
        for value in sorted({sl.get(key, "") for *_, sl in pairs}):
            sub = _summary([(a, b) for a, b, sl in pairs if sl.get(key, "") == value])
            slices[key][value] = {k: sub[k] for k in ("n", "reader_exact", "recogniser_exact",
                                                      "misses_detector_side", "misses_recogniser_side")}
    report["slices"] = slices
    return report
