"""Self-contained HTML reports (inline CSS, images as data URIs) for a person to look at."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from PIL import ImageDraw

__all__ = ["card_report_html", "fmt", "thumbnail_data_uri"]

_CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.gallery{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;padding:6px;width:330px;font-size:12px}
.card img{max-width:320px;display:block}.bad{color:#b00}.ok{color:#070}code{font-size:12px}
"""


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return html.escape(str(v))


def thumbnail_data_uri(path: Path, boxes: dict[str, list[list[float]]] | None = None, size: int = 320) -> str:
    """A JPEG thumbnail of `path` with field boxes drawn, as a data URI ('' if unreadable)."""
    try:
        from ..io import load_image_scaled

        img, scale, _ = load_image_scaled(path, max_side=2 * size)  # a 12 MP JPEG decodes at 1/4 scale
    except Exception:  # noqa: BLE001 - a report never fails on one photo's thumbnail
        return ""
    d = ImageDraw.Draw(img)
    colours = {"number": (0, 200, 0), "expiry": (220, 0, 220)}
    for kind, bs in (boxes or {}).items():
        for b in bs:
            d.rectangle([v * scale for v in b], outline=colours.get(kind, (255, 0, 0)), width=max(2, img.width // 300))
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _metrics_table(report: dict[str, Any], keys: list[str]) -> str:
    head = "".join(f"<th>{k}</th>" for k in keys)
    return f"<table><tr>{head}</tr><tr>{''.join(f'<td>{fmt(report.get(k))}</td>' for k in keys)}</tr></table>"


def _ceiling_tables(c: dict[str, Any]) -> str:
    """The reader's outcome crossed with the recogniser alone, overall and by slice."""
    rows = "".join(f"<tr><td>reader {o}</td><td>{c['table'][o]['rec_right']}</td><td>{c['table'][o]['rec_wrong']}</td></tr>"
                   for o in ("right", "withheld", "wrong"))
    keys = ["n", "reader_exact", "recogniser_exact", "misses_detector_side", "misses_recogniser_side"]
    slices = "".join(
        f"<tr><td>{fmt(key)}={fmt(v)}</td>{''.join(f'<td>{fmt(m.get(k))}</td>' for k in keys)}</tr>"
        for key, values in c["slices"].items() for v, m in values.items())
    return (f"<table><tr><th></th><th>recogniser right</th><th>recogniser wrong</th></tr>{rows}</table><h3>By slice"
            f"</h3><table><tr><th>slice</th>{''.join(f'<th>{k}</th>' for k in keys)}</tr>{slices}</table>")


def _ceiling_html(c: dict[str, Any]) -> str:
    """`pocketocr eval card --ceiling`: the reader's outcome crossed with the recogniser alone on the quads."""
    if not c["n"]:
        return f"<h2>Which model missed</h2><p>No labelled number quads ({c['skipped']} images skipped).</p>"
    out = (f"<h2>Which model missed</h2><p>The recogniser alone, best-path, on each photo's labelled number quads "
           f"reads {fmt(c['recogniser_exact'])} of {c['n']} (the reader {fmt(c['reader_exact'])}). Of "
           f"{c['misses']} misses, {c['misses_detector_side']} are read from the quads (lost by the detector or "
           f"the decoding) and {c['misses_recogniser_side']} are not (the recogniser's, or unreadable); "
           f"{c['skipped']} skipped.</p>{_ceiling_tables(c)}")
    e = c.get("expiry")
    if e and e["n"]:
        out += (f"<h2>Which model missed the expiry</h2><p>The recogniser alone on each labelled expiry quad reads "
                f"{fmt(e['recogniser_exact'])} of {e['n']} dates (the reader {fmt(e['reader_exact'])}). Of "
                f"{e['misses']} misses, {e['misses_detector_side']} are read from the quad and "
                f"{e['misses_recogniser_side']} are not.</p>{_ceiling_tables(e)}")
    return out


def card_report_html(report: dict[str, Any], dataset: Path, max_gallery: int = 200) -> str:
    keys = ["n", "number_exact", "digit_cer", "expiry_exact", "expiry_n", "needs_correction", "number_abstain",
            "review_rate", "review_precision", "review_recall", "errors"]
    parts = [(f"<!doctype html><html><head><meta charset='utf-8'><title>pocketocr card eval</title>"
             f"<style>{_CSS}</style></head><body>"),
             (f"<h1>Card reader evaluation</h1><p>dataset <code>{fmt(report['dataset'])}</code>, model "
             f"<code>{fmt(report['model_version'])}</code>. Card numbers are masked (first 6 / last 4); wrong "
             f"digits are marked <code>x</code> by position.</p>"),
             "<h2>Overall</h2>", _metrics_table(report, keys),
             f"<p>latency per image: p50 {fmt(report['latency_ms']['p50'])} ms, p95 {fmt(report['latency_ms']['p95'])} ms</p>",
             "<h2>By slice</h2>"]
    for key, values in report["slices"].items():
        rows = "".join(f"<tr><td>{fmt(v)}</td>{''.join(f'<td>{fmt(m.get(k))}</td>' for k in keys)}</tr>"
                       for v, m in values.items())
        parts.append(f"<h3>{fmt(key)}</h3><table><tr><th>{fmt(key)}</th>{''.join(f'<th>{k}</th>' for k in keys)}</tr>"
                     f"{rows}</table>")
    if report["confusions"]:
        rows = "".join(f"<tr><td>{c['truth']} → {c['pred']}</td><td>{c['count']}</td></tr>"
                       for c in report["confusions"][:30])
        parts.append(f"<h2>Digit confusions (truth → read)</h2><table><tr><th>pair</th><th>count</th></tr>{rows}</table>")
    if "ceiling" in report:
        parts.append(_ceiling_html(report["ceiling"]))
    fails = [r for r in report["samples"] if r["needs_correction"]]
    parts.append(f"<h2>Failures: {len(fails)} images a user would have to correct</h2><div class='gallery'>")
    for r in fails[:max_gallery]:
        uri = thumbnail_data_uri(Path(dataset) / r["file"], r.get("boxes"))
        img = f"<img src='{uri}' alt='{fmt(r['file'])}'>" if uri else "<p class='bad'>(image not readable)</p>"
        parts.append(
            f"<div class='card'>{img}<b>{fmt(r['file'])}</b> {fmt(' '.join(f'{k}={v}' for k, v in r['slices'].items()))}<br>"
            f"number: read <code>{fmt(r['pred_number'])}</code> truth <code>{fmt(r['truth_number'])}</code>"
            f" errors <code>{fmt(r['error_positions'])}</code><br>"
            f"expiry: read <code>{fmt(r['pred_expiry'])}</code> truth <code>{fmt(r['truth_expiry'])}</code><br>"
            f"needs_review: <span class='{'ok' if r['needs_review'] else 'bad'}'>{r['needs_review']}</span>"
            + (f"<br>recogniser alone on the labelled quads: <span class='{'ok' if r['ceiling_rec_right'] else 'bad'}'>"
               f"{'right' if r['ceiling_rec_right'] else 'wrong'}</span>"
               + (" (the number was lost by the detector or the decoding)"
                  if r["ceiling_rec_right"] and not r["number_exact"] else "")
               if "ceiling_rec_right" in r else "")
            + (f"<br>recogniser alone on the labelled expiry quad: <span class='"
               f"{'ok' if r['ceiling_expiry_rec_right'] else 'bad'}'>{'right' if r['ceiling_expiry_rec_right'] else 'wrong'}"
               f"</span>" if "ceiling_expiry_rec_right" in r else "") +
            f"{'<br><span class=bad>' + fmt(r['error']) + '</span>' if r.get('error') else ''}</div>")
    parts.append("</div></body></html>")
    return "".join(parts)
