"""Offline evaluation of the formula detector on a labelled folder (`annotations.jsonl` + images).

Label lines: `{"file": "images/p1.png", "boxes": [[x1, y1, x2, y2, kind], ...], ...}` with kind
"embedded", "isolated" or "unknown"; other scalar keys are slice labels (capture, layout, ...).

Matching is one-to-one and greedy by score (as COCO): a prediction takes the unmatched truth box
with the highest IoU at or above the threshold. Overall figures need the classes to agree, except that
an "unknown" truth box matches a prediction of either class; per-class figures use only truth boxes
of that class. Figures:

- precision / recall / F1 at IoU 0.5 and 0.75;
- `map`: COCO mAP@[.5:.95] (and `map_50`), class-agnostic, from pycocotools when installed (the
  [train] extra), else None with a note;
- `coverage_recall`: a truth box counts as found when the union of all predictions covers at least
  half of its area (tolerant of split or merged boxes, which a user fixes faster than a missed one);
- `needs_correction`: share of pages where a user would add, delete or adjust a box (any unmatched
  truth or prediction at IoU 0.5);
- every figure per box size and per slice, and latency p50/p95. Size buckets use the COCO area
  thresholds (32², 96² px) on the box area rescaled to a page whose long side is 1600 px, so that a
  phone photo and a scan of the same page fall in the same buckets: at 1600 px an italic letter
  (~10x15 px) is small, an inline expression (~20x150) medium, a display line (~25x500) large.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError, PocketOCRError
from ..results import FormulaResult
from .progress import progress_bar

__all__ = [
    "KINDS",
    "SIZES",
    "FormulaLabel",
    "box_iou",
    "coverage",
    "evaluate_formulas",
    "evaluate_predictions",
    "formula_metrics",
    "formula_report_html",
    "load_formula_labels",
    "match_boxes",
    "page_row",
    "size_bucket",
]

KINDS = ("embedded", "isolated")
SIZES = ("small", "medium", "large")
REF_LONG_SIDE = 1600.0
_CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.gallery{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;padding:6px;width:520px;font-size:12px}
.card img{max-width:510px;display:block}.bad{color:#b00}code{font-size:12px}
"""


@dataclass(frozen=True)
class FormulaLabel:
    file: Path
    boxes: list[tuple[float, float, float, float]]
    kinds: list[str]
    size: tuple[int, int] | None          # (width, height) when the label gives it
    slices: dict[str, str]


def load_formula_labels(dataset: Path) -> list[FormulaLabel]:
    """Read `dataset/annotations.jsonl` (see module doc)."""
    dataset = Path(dataset)
    path = dataset / "annotations.jsonl"
    if not path.exists():
        raise PocketOCRError(f"{dataset}: no annotations.jsonl (expected the formula dataset folder format)")
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            boxes, kinds = [], []
            for b in row["boxes"]:
                kind = str(b[4]) if len(b) > 4 else "unknown"
                if kind not in (*KINDS, "unknown"):
                    raise ValueError(f"unknown kind {kind!r}")
                boxes.append(tuple(float(v) for v in b[:4]))
                kinds.append(kind)
            size = (int(row["width"]), int(row["height"])) if "width" in row and "height" in row else None
            slices = {k: str(v) for k, v in row.items()
                      if k not in ("file", "boxes", "width", "height") and isinstance(v, (str, int, float, bool))}
            out.append(FormulaLabel(dataset / row["file"], boxes, kinds, size, slices))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise PocketOCRError(f"{path}:{i}: bad label line ({type(exc).__name__}: {exc})") from None
    return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) xyxy -> (N, M) IoU."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area = lambda x: (x[:, 2] - x[:, 0]).clip(0) * (x[:, 3] - x[:, 1]).clip(0)
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def match_boxes(truth: np.ndarray, truth_kinds: list[str], pred: np.ndarray, pred_kinds: list[str],
                scores: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one greedy matching by score. Returns (truth_matched (N,) bool, pred_matched (M,) bool).

    A pair may match when IoU >= thr and the kinds agree or the truth kind is "unknown".
    """
    n, m = len(truth), len(pred)
    t_ok, p_ok = np.zeros(n, bool), np.zeros(m, bool)
    if n == 0 or m == 0:
        return t_ok, p_ok
    iou = box_iou(pred, truth)                                      # (M, N)
    compat = np.array([[tk == "unknown" or tk == pk for tk in truth_kinds] for pk in pred_kinds])
    iou = np.where(compat, iou, 0.0)
    for j in np.argsort(-np.asarray(scores), kind="stable"):
        cand = np.where(~t_ok & (iou[j] >= thr), iou[j], -1.0)
        k = int(np.argmax(cand))
        if cand[k] >= thr:
            t_ok[k] = p_ok[j] = True
    return t_ok, p_ok


def coverage(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(N,) share of each truth box's area covered by the union of the predicted boxes."""
    out = np.zeros(len(truth))
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(truth, np.float64).reshape(-1, 4)):
        w, h = max(1, int(np.ceil(x2 - x1))), max(1, int(np.ceil(y2 - y1)))
        mask = np.zeros((h, w), bool)
        for px1, py1, px2, py2 in np.asarray(pred, np.float64).reshape(-1, 4):
            a, b = int(round(max(px1, x1) - x1)), int(round(min(px2, x2) - x1))
            c, d = int(round(max(py1, y1) - y1)), int(round(min(py2, y2) - y1))
            if b > a and d > c:
                mask[c:d, a:b] = True
        out[i] = mask.mean()
    return out


def size_bucket(box, long_side: float) -> str:
    """COCO size bucket of a box, its area rescaled to a 1600 px long-side page."""
    x1, y1, x2, y2 = box
    area = max(0.0, x2 - x1) * max(0.0, y2 - y1) * (REF_LONG_SIDE / max(long_side, 1.0)) ** 2
    return "small" if area < 32 ** 2 else ("medium" if area < 96 ** 2 else "large")


def page_row(label: FormulaLabel, pred_boxes, pred_kinds, pred_scores, size: tuple[int, int],
             dataset: Path | None = None) -> dict[str, Any]:
    """Per-page counts for `formula_metrics` (one row of the report's `samples`)."""
    tb = np.asarray(label.boxes, np.float64).reshape(-1, 4)
    pb = np.asarray(pred_boxes, np.float64).reshape(-1, 4)
    ps = np.asarray(pred_scores, np.float64)
    long_side = float(max(size))
    row: dict[str, Any] = {
        "file": str(label.file.relative_to(dataset)) if dataset and label.file.is_relative_to(dataset) else str(label.file),
        "slices": label.slices, "width": size[0], "height": size[1], "n_truth": len(tb), "n_pred": len(pb),
        "truth": [[*map(float, b), k] for b, k in zip(tb, label.kinds)],
        "pred": [[*map(float, b), k, float(s)] for b, k, s in zip(pb, pred_kinds, ps)],
    }
    t_size = [size_bucket(b, long_side) for b in tb]
    p_size = [size_bucket(b, long_side) for b in pb]
    for thr, tag in ((0.5, "50"), (0.75, "75")):
        t_ok, p_ok = match_boxes(tb, label.kinds, pb, list(pred_kinds), ps, thr)
        row[f"tp_{tag}"] = int(t_ok.sum())          # matched truths (= matched predictions)
        row[f"t_ok_{tag}"] = t_ok.tolist()
        row[f"p_ok_{tag}"] = p_ok.tolist()
        for kind in KINDS:   # per class: truth of that class vs predictions of that class
            ti = [i for i, k in enumerate(label.kinds) if k == kind]
            pi = [j for j, k in enumerate(pred_kinds) if k == kind]
            tk, _ = match_boxes(tb[ti], [kind] * len(ti), pb[pi], [kind] * len(pi), ps[pi], thr)
            row[f"{kind}_tp_{tag}"] = int(tk.sum())
            row[f"{kind}_n_truth"] = len(ti)
            row[f"{kind}_n_pred"] = len(pi)
        for s in SIZES:
            row[f"{s}_tp_truth_{tag}"] = int(sum(ok for ok, b in zip(t_ok, t_size) if b == s))
            row[f"{s}_tp_pred_{tag}"] = int(sum(ok for ok, b in zip(p_ok, p_size) if b == s))
    for s in SIZES:
        row[f"{s}_n_truth"] = t_size.count(s)
        row[f"{s}_n_pred"] = p_size.count(s)
    cov = coverage(tb, pb) >= 0.5
    row["covered"] = int(cov.sum())
    row["small_covered"] = int(sum(c for c, b in zip(cov, t_size) if b == "small"))
    row["medium_covered"] = int(sum(c for c, b in zip(cov, t_size) if b == "medium"))
    row["large_covered"] = int(sum(c for c, b in zip(cov, t_size) if b == "large"))
    row["needs_correction"] = bool(row["tp_50"] < len(tb) or row["tp_50"] < len(pb))
    return row


def _prf(tp: int, n_truth: int, n_pred: int) -> tuple[float | None, float | None, float | None]:
    # No predictions on pages with formulas: precision 0 (nothing useful shown), so F1 is 0, not undefined.
    p = tp / n_pred if n_pred else (1.0 if n_truth == 0 else 0.0)
    r = tp / n_truth if n_truth else None
    if p is None or r is None:
        return p, r, None
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def formula_metrics(rows: list[dict]) -> dict[str, Any]:
    """Aggregate per-page rows: P/R/F1 at 0.5 and 0.75, coverage recall, needs_correction."""
    nt, npred = sum(r["n_truth"] for r in rows), sum(r["n_pred"] for r in rows)
    out: dict[str, Any] = {"n": len(rows), "n_truth": nt, "n_pred": npred}
    for tag in ("50", "75"):
        p, r, f = _prf(sum(x[f"tp_{tag}"] for x in rows), nt, npred)
        out[f"precision_{tag}"], out[f"recall_{tag}"], out[f"f1_{tag}"] = p, r, f
    out["coverage_recall"] = sum(r["covered"] for r in rows) / nt if nt else None
    out["needs_correction"] = float(np.mean([r["needs_correction"] for r in rows])) if rows else None
    out["errors"] = sum(1 for r in rows if r.get("error"))
    return out


def _per_class(rows: list[dict]) -> dict[str, Any]:
    out = {}
    for kind in KINDS:
        nt = sum(r[f"{kind}_n_truth"] for r in rows)
        npred = sum(r[f"{kind}_n_pred"] for r in rows)
        d: dict[str, Any] = {"n_truth": nt, "n_pred": npred}
        for tag in ("50", "75"):
            tp = sum(r[f"{kind}_tp_{tag}"] for r in rows)
            # With no truth of this class (e.g. all "unknown"), precision is not measurable either.
            p, rc, f = _prf(tp, nt, npred) if nt else (None, None, None)
            d[f"precision_{tag}"], d[f"recall_{tag}"], d[f"f1_{tag}"] = p, rc, f
        out[kind] = d
    return out


def _per_size(rows: list[dict]) -> dict[str, Any]:
    out = {}
    for s in SIZES:
        nt = sum(r[f"{s}_n_truth"] for r in rows)
        npred = sum(r[f"{s}_n_pred"] for r in rows)
        d: dict[str, Any] = {"n_truth": nt, "n_pred": npred}
        for tag in ("50", "75"):
            p = sum(r[f"{s}_tp_pred_{tag}"] for r in rows) / npred if npred else None
            rc = sum(r[f"{s}_tp_truth_{tag}"] for r in rows) / nt if nt else None
            d[f"precision_{tag}"], d[f"recall_{tag}"] = p, rc
            d[f"f1_{tag}"] = (2 * p * rc / (p + rc) if (p + rc) > 0 else 0.0) if p is not None and rc is not None else None
        d["coverage_recall"] = sum(r[f"{s}_covered"] for r in rows) / nt if nt else None
        out[s] = d
    return out


def _coco_map(rows: list[dict]) -> tuple[float | None, float | None, str | None]:
    """Class-agnostic COCO mAP@[.5:.95] and mAP@.5 with pycocotools (optional dependency)."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        return None, None, "pycocotools not installed (pip install 'pocketocr[train]'): map not computed"
    images, anns, dets = [], [], []
    for i, r in enumerate(rows, 1):
        images.append({"id": i, "width": r["width"], "height": r["height"]})
        for b in r["truth"]:
            x1, y1, x2, y2 = b[:4]
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                         "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        for b in r["pred"]:
            x1, y1, x2, y2 = b[:4]
            dets.append({"image_id": i, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": b[5]})
    if not anns:
        return None, None, "no truth boxes: map not defined"
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "formula"}]}
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else None
        if dt is None:
            return 0.0, 0.0, None
        ev = COCOeval(gt, dt, "bbox")
        ev.params.maxDets = [1, 10, 1000]   # pages hold up to a few hundred formulas, not COCO's 100
        ev.evaluate()
        ev.accumulate()
    # summarize() reads maxDets=100 only; take the (T, R, K, A, M) precision at area "all", 1000 dets.
    prec = ev.eval["precision"][:, :, 0, 0, -1]
    ap = [float(p[p > -1].mean()) if (p > -1).any() else 0.0 for p in prec]
    return float(np.mean(ap)), ap[0], None


def _report(rows: list[dict], latencies: list[float]) -> dict[str, Any]:
    rep = formula_metrics(rows)
    rep["map"], rep["map_50"], note = _coco_map(rows)
    if note:
        rep["map_note"] = note
    rep["per_class"] = _per_class(rows)
    rep["per_size"] = _per_size(rows)
    lat = np.asarray([x for x in latencies if np.isfinite(x)])
    rep["latency_ms"] = ({"p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
                          "mean": float(lat.mean())} if len(lat) else {"p50": None, "p95": None, "mean": None})
    slices: dict[str, dict[str, Any]] = defaultdict(dict)
    for key in sorted({k for r in rows for k in r["slices"]}):
        for value in sorted({r["slices"].get(key, "") for r in rows}):
            sub = [r for r in rows if r["slices"].get(key, "") == value]
            slices[key][value] = {**formula_metrics(sub), "per_size": _per_size(sub)}
    rep["slices"] = dict(slices)
    return rep


def evaluate_predictions(labels: list[FormulaLabel], preds: list[FormulaResult | None],
                         latencies: list[float] | None = None, dataset: Path | None = None) -> dict[str, Any]:
    """The report for ready-made predictions (one FormulaResult or None per label)."""
    rows = []
    for lab, res in zip(labels, preds):
        if res is None:
            size = lab.size or (1, 1)
            row = page_row(lab, [], [], [], size, dataset)
            row["error"] = "no prediction"
        else:
            row = page_row(lab, [f.box for f in res.formulas], [f.kind for f in res.formulas],
                           [f.score for f in res.formulas], (res.width, res.height), dataset)
        rows.append(row)
    rep = _report(rows, latencies or [])
    rep["samples"] = rows
    return rep


def evaluate_formulas(detect: Callable[[Path], FormulaResult], dataset: Path, progress: bool = True,
                      model_version: str = "unknown") -> dict[str, Any]:
    """Run `detect` on every labelled page and build the report dict (see module doc).

    Args:
        detect: a function image path -> FormulaResult (e.g. `FormulaDetector(...).detect`).
        dataset: folder with annotations.jsonl and the images.
        progress: show a progress bar on stderr.
        model_version: recorded in the report (the gap report joins on it).

    Returns:
        The report: overall figures, `per_class`, `per_size`, `slices`, `latency_ms`, and `samples`
        (one row per page).

    >>> rep = evaluate_formulas(FormulaDetector().detect, Path("devsets/formula"))   # doctest: +SKIP
    >>> round(rep["f1_50"], 2)                                                         # doctest: +SKIP
    0.85
    """
    dataset = Path(dataset)
    labels = load_formula_labels(dataset)
    it = progress_bar(labels, "eval formula", "page", progress)
    rows, latencies = [], []
    for lab in it:
        try:
            res = detect(lab.file)
            latencies.append(res.timings_ms.get("total", float("nan")))
            row = page_row(lab, [f.box for f in res.formulas], [f.kind for f in res.formulas],
                           [f.score for f in res.formulas], (res.width, res.height), dataset)
            row["error"] = None
        except (ImageError, PocketOCRError) as exc:
            row = page_row(lab, [], [], [], lab.size or (1, 1), dataset)
            row["error"] = str(exc)
        rows.append(row)
    rep = _report(rows, latencies)
    rep.update({"task": "formula", "model_version": model_version, "dataset": str(dataset)})
    rep["samples"] = rows
    return rep


def formula_report_html(report: dict[str, Any], dataset: Path, max_gallery: int = 60) -> str:
    """A self-contained HTML report: figures, slices, and pages with truth (green) and predictions
    (red: embedded, blue: isolated; dashed when unmatched at IoU 0.5), worst pages first."""
    import base64
    import html as _html

    from PIL import ImageDraw

    from ..io import load_image
    from .html import fmt

    keys = ["n", "n_truth", "n_pred", "precision_50", "recall_50", "f1_50", "precision_75", "recall_75", "f1_75",
            "map", "map_50", "coverage_recall", "needs_correction", "errors"]

    def table(rows_: list[tuple[str, dict]], ks: list[str], first: str) -> str:
        head = "".join(f"<th>{k}</th>" for k in ks)
        body = "".join(f"<tr><td>{fmt(name)}</td>{''.join(f'<td>{fmt(m.get(k))}</td>' for k in ks)}</tr>"
                       for name, m in rows_)
        return f"<table><tr><th>{first}</th>{head}</tr>{body}</table>"

    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>pocketocr formula eval</title>"
             f"<style>{_CSS}</style></head><body>"),
             (f"<h1>Formula detector evaluation</h1><p>dataset <code>{fmt(report.get('dataset'))}</code>, model "
             f"<code>{fmt(report.get('model_version'))}</code>. Green: truth; red: embedded, blue: isolated "
             f"predictions; thin boxes are unmatched at IoU 0.5.</p>"),
             "<h2>Overall</h2>", table([("all", report)], keys, ""),
             (f"<p>latency per page: p50 {fmt(report['latency_ms']['p50'])} ms, p95 {fmt(report['latency_ms']['p95'])} ms"
             f"{' — ' + fmt(report['map_note']) if report.get('map_note') else ''}</p>"),
             "<h2>By class</h2>", table(list(report["per_class"].items()),
                                        ["n_truth", "n_pred", "precision_50", "recall_50", "f1_50", "f1_75"], "class"),
             "<h2>By size (area at a 1600 px long side; COCO thresholds)</h2>",
             table(list(report["per_size"].items()), ["n_truth", "n_pred", "precision_50", "recall_50", "f1_50",
                                                      "f1_75", "coverage_recall"], "size"),
             "<h2>By slice</h2>"]
    for key, values in report.get("slices", {}).items():
        parts.append(f"<h3>{fmt(key)}</h3>" + table(list(values.items()), keys[:-1], fmt(key)))
    rows = sorted(report.get("samples", []), key=lambda r: (r["tp_50"] / max(1, r["n_truth"], r["n_pred"]),
                                                           -r["n_truth"]))
    parts.append(f"<h2>Pages, worst first ({min(len(rows), max_gallery)} of {len(rows)})</h2><div class='gallery'>")
    for r in rows[:max_gallery]:
        try:
            img = load_image(Path(dataset) / r["file"])
        except Exception:  # noqa: BLE001 - a report never fails on one page's image
            parts.append(f"<div class='card'><b>{fmt(r['file'])}</b><p class='bad'>(image not readable)</p></div>")
            continue
        d = ImageDraw.Draw(img)
        lw = max(2, img.width // 500)
        for b, ok in zip(r["truth"], r["t_ok_50"]):
            d.rectangle(b[:4], outline=(0, 170, 0), width=lw if ok else max(1, lw // 2))
        for b, ok in zip(r["pred"], r["p_ok_50"]):
            d.rectangle(b[:4], outline=(220, 0, 0) if b[4] == "embedded" else (0, 60, 230),
                        width=lw if ok else max(1, lw // 2))
        img.thumbnail((1000, 1000))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        parts.append(f"<div class='card'><img src='{uri}' alt='{fmt(r['file'])}'><b>{fmt(r['file'])}</b> "
                     f"{_html.escape(' '.join(f'{k}={v}' for k, v in r['slices'].items()))}<br>"
                     f"truth {r['n_truth']}, predicted {r['n_pred']}, matched@0.5 {r['tp_50']}, covered {r['covered']}"
                     f"{'<br><span class=bad>' + fmt(r['error']) + '</span>' if r.get('error') else ''}</div>")
    parts.append("</div></body></html>")
    return "".join(parts)
