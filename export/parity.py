"""The parity gate every export runs: exported models scored against the checkpoint on a fixed synthetic
validation set, plus how often their outputs agree with the fp32 checkpoint.

Card: number exact may drop at most 0.5 pt; formula: F1@0.5 at most 1 pt. A failure raises
`ParityError` with one line per failing file, after the summary is written, so a person can look.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["GATES", "Gate", "ParityError", "ParityRow", "gate", "output_agreement", "raise_on_failure", "result_agreement"]


@dataclass(frozen=True)
class Gate:
    metric: str          # as in `pocketocr eval --json`
    max_drop: float      # absolute, as a fraction (0.005 = 0.5 pt)


GATES: dict[str, Gate] = {"card": Gate("number_exact", 0.005), "formula": Gate("f1_50", 0.01)}


class ParityError(RuntimeError):
    """An exported model lost more accuracy against the checkpoint than the gate allows."""


@dataclass(frozen=True)
class ParityRow:
    file: str
    metric: str
    value: float | None
    reference: float | None
    drop: float | None
    max_drop: float
    passed: bool
    result_agreement: float | None   # fraction of images whose decoded result equals the checkpoint's
    output_agreement: dict            # raw-output comparison against fp32 (see `output_agreement`)

    def to_dict(self) -> dict:
        return asdict(self)


def gate(task: str, reference: dict, scored: dict[str, dict], agreement: dict[str, float | None],
         outputs: dict[str, dict]) -> list[ParityRow]:
    """Compare each exported file's metrics with the checkpoint's.

    Args:
        task: "card" or "formula" (picks the metric and the allowed drop).
        reference: the checkpoint's metrics on the validation set.
        scored: file name -> its metrics on the same set.
        agreement: file name -> fraction of images decoded exactly as the checkpoint did.
        outputs: file name -> raw-output agreement with fp32.

    Returns:
        One row per file; `passed` False when the drop is over the gate (or the metric is missing).
    """
    g = GATES[task]
    ref = reference.get(g.metric)
    rows = []
    for name, m in scored.items():
        val = m.get(g.metric)
        drop = (ref - val) if (ref is not None and val is not None) else None
        ok = drop is not None and drop <= g.max_drop + 1e-12
        rows.append(ParityRow(name, g.metric, val, ref, drop, g.max_drop, ok, agreement.get(name),
                              outputs.get(name, {})))
    return rows


def raise_on_failure(rows: list[ParityRow], where: str) -> None:
    """Raise `ParityError` naming every failing file (no-op when all pass)."""
    bad = [r for r in rows if not r.passed]
    if bad:
        lines = "; ".join(f"{r.file}: {r.metric} {_pct(r.value)} vs checkpoint {_pct(r.reference)} "
                          f"(drop {_pt(r.drop)} > {r.max_drop * 100:.1f} pt)" for r in bad)
        raise ParityError(f"{lines}; see {where}")


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.2f}%"


def _pt(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.2f} pt"


def output_agreement(reference: list[np.ndarray], outputs: list[np.ndarray], kind: str) -> dict:
    """How close raw outputs are to fp32 on the same inputs.

    Args:
        reference: fp32 outputs, one array per input batch.
        outputs: the exported model's outputs for the same batches.
        kind: "maps" (detector: max |diff| and agreement of the 0.5 threshold on channels 0-1) or
            "probs" (CTC recogniser (N, T, C): max |diff| and per-frame argmax agreement).
    """
    diff = max(float(np.max(np.abs(r - o))) for r, o in zip(reference, outputs))
    if kind == "maps":
        agree = np.mean([np.mean((r[:, :2] > 0.5) == (o[:, :2] > 0.5)) for r, o in zip(reference, outputs)])
        return {"max_abs_diff": round(diff, 5), "mask_agreement": round(float(agree), 5)}
    agree = np.mean([np.mean(r.argmax(-1) == o.argmax(-1)) for r, o in zip(reference, outputs)])
    return {"max_abs_diff": round(diff, 5), "argmax_agreement": round(float(agree), 5)}


def result_agreement(reference: list[tuple], results: list[tuple]) -> float | None:
    """Fraction of images whose decoded fields (e.g. (number, expiry)) equal the reference's."""
    if not reference:
        return None
    return float(np.mean([a == b for a, b in zip(reference, results)]))
