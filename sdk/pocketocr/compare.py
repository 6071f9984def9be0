"""Candidate comparison: several models of one task on one dataset, numbers first, then where they disagree.

A card candidate is a det + rec pair: a folder holding `card_det*` and `card_rec*` files of one format,
or "det_file,rec_file" (see `bench.card_pair`). Each candidate is scored with the public reader; the
report has one table (accuracy overall and by slice, latency, size, memory), a shortlist (within a
tolerance of the best on the primary metric and not dominated on size and latency), and the samples
where candidates disagree. Card numbers appear masked only.

>>> rep = compare("card", ["models_a", "models_b"], Path("val"))        # doctest: +SKIP
>>> rep.shortlist                                                         # doctest: +SKIP
['models_b']
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import PocketOCRError
from .tasks.card.rules import mask_number

__all__ = ["PRIMARY", "Candidate", "CandidateScore", "CompareReport", "compare", "compare_html"]

PRIMARY = {"card": "number_exact", "formula": "f1_50"}


@dataclass(frozen=True)
class Candidate:
    name: str
    files: list[Path]

    @property
    def size_mb(self) -> float:
        return round(sum(f.stat().st_size for f in self.files) / 1e6, 3)


@dataclass(frozen=True)
class CandidateScore:
    name: str
    files: list[str]
    size_mb: float
    load_rss_mb: float                 # resident memory added by loading the candidate
    latency_ms: dict[str, float | None]  # p50, p95 per image, one thread (from the evaluation run)
    metrics: dict[str, Any]            # overall, as in `pocketocr eval --json`
    slices: dict[str, dict[str, Any]]  # "scene=flat" -> {primary metric, n}


@dataclass(frozen=True)
class CompareReport:
    task: str
    dataset: str
    primary: str
    tolerance: float
    candidates: list[CandidateScore]
    shortlist: list[str]
    why: dict[str, str]                # candidate -> why it is (not) on the shortlist
    disagreements: list[dict[str, Any]] = field(default_factory=list)  # masked, per sample
    n_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _names(specs: list[str]) -> list[str]:
    """Short, unique display names: the folder name, or the detector file's name."""
    out = []
    for s in specs:
        p = Path(s.split(",")[0])
        base = p.name
        name, k = base, 2
        while name in out:
            name, k = f"{base}#{k}", k + 1
        out.append(name)
    return out


def _card_candidate(name: str, spec: str):
    from .bench import card_pair

    det, rec = card_pair(spec)
    return Candidate(name, [det, rec])


def _score_card(c: Candidate, dataset: Path, backend: str) -> tuple[CandidateScore, list[dict]]:
    from .bench import current_rss_mb
    from .eval.card import evaluate_cards
    from .tasks.card.predictor import CardReader

    rss0 = current_rss_mb()
    reader = CardReader(c.files[0], c.files[1], backend=backend, threads=1)
    rss = round(current_rss_mb() - rss0, 1)
    raw: list[tuple[str | None, str | None]] = []  # full numbers, in memory only, to detect disagreement

    def read(p):
        r = reader.read(p)
        raw.append((r.number, r.expiry))
        return r

    rep = evaluate_cards(read, dataset, progress=False, model_version=reader.model_version)
    samples = rep.pop("samples")
    for s, (num, exp) in zip([s for s in samples if not s.get("error")], raw):
        s["_raw"] = (num, exp)
    slices = {f"{k}={v}": {"n": m["n"], "number_exact": m["number_exact"]}
              for k, vals in rep.get("slices", {}).items() for v, m in vals.items()}
    keys = ("n", "number_exact", "digit_cer", "expiry_exact", "needs_correction", "review_rate", "number_abstain")
    score = CandidateScore(c.name, [str(f) for f in c.files], c.size_mb, rss,
                           {"p50": rep["latency_ms"]["p50"], "p95": rep["latency_ms"]["p95"]},
                           {k: rep.get(k) for k in keys}, slices)
    return score, samples


def _shortlist(scores: list[CandidateScore], primary: str, tolerance: float) -> tuple[list[str], dict[str, str]]:
    vals = {s.name: s.metrics.get(primary) for s in scores}
    best = max((v for v in vals.values() if v is not None), default=None)
    why: dict[str, str] = {}
    near = []
    for s in scores:
        v = vals[s.name]
        if v is None or best is None or v < best - tolerance - 1e-12:
            why[s.name] = (f"{primary} {v if v is None else round(v, 4)} is more than {tolerance * 100:g} pt "
                           f"below the best ({best if best is None else round(best, 4)})")
        else:
            near.append(s)
    short = []
    for s in near:
        lat = s.latency_ms.get("p95") or float("inf")
        dom = next((o for o in near if o is not s
                    and o.size_mb <= s.size_mb and (o.latency_ms.get("p95") or float("inf")) <= lat
                    and (o.size_mb < s.size_mb or (o.latency_ms.get("p95") or float("inf")) < lat)), None)
        if dom is not None:
            why[s.name] = f"dominated by {dom.name} (no larger and no slower, within tolerance on {primary})"
        else:
            why[s.name] = f"within {tolerance * 100:g} pt of the best {primary}, not dominated on size and latency"
            short.append(s.name)
    return short, why


def compare(task: str, candidates: list[str], dataset: Path, *, backend: str = "onnx", tolerance: float = 0.01,
            names: list[str] | None = None, max_gallery: int = 100) -> CompareReport:
    """Score candidates on one dataset and find where they disagree.

    Args:
        task: "card" (formula: metrics and shortlist once its evaluator exists; no gallery yet).
        candidates: card: folders with card_det*/card_rec* files, or "det,rec" file pairs.
        dataset: a labelled folder (labels.jsonl, the `pocketocr eval` format).
        backend: used only to pick defaults; the file suffix decides the runtime.
        tolerance: shortlist tolerance on the primary metric, absolute (0.01 = 1 pt).
        names: display names (default: folder or file names).
        max_gallery: at most this many disagreement samples are kept.

    Returns:
        CompareReport.

    Raises:
        ModelError: a candidate cannot be resolved or loaded.
        PocketOCRError: fewer than two candidates, or a bad dataset.
    """
    if len(candidates) < 2:
        raise PocketOCRError("compare needs at least two candidates")
    if task != "card":
        raise PocketOCRError(f"compare supports the card task for now, not {task!r}")
    dataset = Path(dataset)
    labels = names or _names(candidates)
    cands = [_card_candidate(n, s) for n, s in zip(labels, candidates)]
    scores, samples = [], []
    for c in cands:
        sc, smp = _score_card(c, dataset, backend)
        scores.append(sc)
        samples.append(smp)
    primary = PRIMARY[task]
    short, why = _shortlist(scores, primary, tolerance)
    dis = []
    by_file = [{s["file"]: s for s in smp} for smp in samples]
    for f in by_file[0]:
        rows = [bf.get(f) for bf in by_file]
        outs = {r.get("_raw") if r else None for r in rows}
        if len(outs) <= 1:
            continue
        first = rows[0] or {}
        dis.append({"file": f, "truth_number": first.get("truth_number"), "truth_expiry": first.get("truth_expiry"),
                    "slices": first.get("slices", {}),
                    "outputs": {c.name: {"number": mask_number((r or {}).get("_raw", (None, None))[0]),
                                         "expiry": (r or {}).get("pred_expiry"),
                                         "number_exact": (r or {}).get("number_exact"),
                                         "expiry_exact": (r or {}).get("expiry_exact"),
                                         "error_positions": (r or {}).get("error_positions"),
                                         "boxes": (r or {}).get("boxes", {}), "error": (r or {}).get("error")}
                                for c, r in zip(cands, rows)}})
    return CompareReport(task, str(dataset), primary, tolerance, scores, short, why, dis[:max_gallery],
                         len(by_file[0]))


def _f(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v * 100:.1f}%" if pct else f"{v:.2f}"
    return html.escape(str(v))


def compare_html(report: CompareReport, dataset: Path) -> str:
    """A self-contained HTML page: the table, the shortlist, then the disagreement gallery."""
    from .eval.html import _CSS, thumbnail_data_uri

    names = [c.name for c in report.candidates]
    slice_keys = sorted({k for c in report.candidates for k in c.slices})
    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>pocketocr compare</title>"
             f"<style>{_CSS}.row{{display:flex;gap:8px;margin-bottom:14px;border-bottom:1px solid #eee}}</style>"
             f"</head><body><h1>Candidates on {html.escape(report.dataset)}</h1>"),
             f"<p>{report.n_samples} samples; primary metric <b>{report.primary}</b>; shortlist tolerance "
             f"{report.tolerance * 100:g} pt.</p><table><tr><th>metric</th>"
             + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"]
    rows: list[tuple[str, list[str]]] = []
    for k in ("number_exact", "expiry_exact", "digit_cer", "needs_correction", "review_rate", "number_abstain"):
        rows.append((k, [_f(c.metrics.get(k), pct=k != "digit_cer") for c in report.candidates]))
    for k in slice_keys:
        rows.append((f"{report.primary} [{k}]", [_f(c.slices.get(k, {}).get(report.primary), True)
                                                  for c in report.candidates]))
    rows += [("latency p50 ms (1 thread)", [_f(c.latency_ms.get("p50")) for c in report.candidates]),
             ("latency p95 ms (1 thread)", [_f(c.latency_ms.get("p95")) for c in report.candidates]),
             ("size MB", [_f(c.size_mb) for c in report.candidates]),
             ("RSS added by loading, MB", [_f(c.load_rss_mb) for c in report.candidates])]
    parts += [f"<tr><td>{html.escape(k)}</td>{''.join(f'<td>{v}</td>' for v in vals)}</tr>" for k, vals in rows]
    parts.append("</table><h2>Shortlist</h2><ul>")
    parts += [f"<li><b>{html.escape(n)}</b>{' ✔' if n in report.shortlist else ''}: {html.escape(report.why[n])}</li>"
              for n in names]
    parts.append(f"</ul><h2>Where they disagree ({len(report.disagreements)})</h2>")
    for d in report.disagreements:
        path = Path(dataset) / d["file"]
        parts.append(f"<div><code>{html.escape(d['file'])}</code> truth {html.escape(str(d['truth_number']))} "
                     f"{html.escape(str(d['truth_expiry']))} <small>{html.escape(json.dumps(d['slices']))}</small>"
                     "<div class='row'>")
        for n in names:
            o = d["outputs"][n]
            uri = thumbnail_data_uri(path, o.get("boxes"), size=300)
            cls = "ok" if o.get("number_exact") else "bad"
            parts.append(f"<div class='card'><b>{html.escape(n)}</b><br>"
                         + (f"<img src='{uri}'>" if uri else "") +
                         f"<span class='{cls}'>{html.escape(str(o['number']))}</span> "
                         f"{html.escape(str(o['expiry']))} <code>{html.escape(str(o.get('error_positions')))}</code>"
                         + (f"<br><span class='bad'>{html.escape(o['error'])}</span>" if o.get("error") else "")
                         + "</div>")
        parts.append("</div></div>")
    parts.append("</body></html>")
    return "".join(parts)
