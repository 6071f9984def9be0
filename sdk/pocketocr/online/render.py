"""Self-contained HTML pages for the online and gap reports (inline CSS and SVG, no scripts, no links).

Every value from the database (versions, categories, feedback texts) is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .charts import PALETTE, dumbbell_chart, hbar_chart, histogram, line_chart

__all__ = ["gap_html", "online_html"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px}.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:140px}
.kpi b{display:block;font-size:22px}.kpi span{color:#666;font-size:12px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #eee;
text-align:right;white-space:nowrap}th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}
tr.alert td{background:#fdecea}.flag{color:#b3261e;font-weight:600}.alert-box{background:#fdecea;
border:1px solid #f5c2c0;border-radius:6px;padding:10px 14px;margin:12px 0}
.voc{border-left:3px solid #009E73;padding:2px 12px;margin:10px 0}.voc q{display:block;margin:4px 0;color:#333}
.small{color:#666;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:16px}
"""


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f}%"


def _ci(ci: list[float] | None) -> str:
    return "–" if not ci else f"{ci[0] * 100:.1f}–{ci[1] * 100:.1f}%"


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>" + "".join(body) + "</body></html>")


def _group_table(groups: dict[str, dict[str, Any]], label: str, fields: list[str],
                 mark_alerts: bool = False) -> str:
    head = (f"<tr><th>{escape(label)}</th><th>sessions</th><th>submitted</th><th>edited</th>"
            "<th>correction rate</th><th>95% CI</th>"
            + "".join(f"<th>{escape(f)}</th>" for f in fields)
            + "<th>abandon rate</th><th>p50 e2e ms</th><th>p95 e2e ms</th></tr>")
    rows = []
    for name, s in groups.items():
        alert = mark_alerts and s.get("alert")
        lat = s["latency_ms"]["end_to_end"]
        rows.append(
            f'<tr{" class=alert" if alert else ""}><td>{"<span class=flag>⚠ </span>" if alert else ""}'
            f'{escape(name)}</td><td>{s["n_sessions"]}</td>'
            f'<td>{s["n_submitted"]}</td><td>{s["n_edited"]}</td><td>{_pct(s["correction_rate"])}</td>'
            f'<td>{_ci(s["correction_rate_ci95"])}</td>'
            + "".join(f"<td>{_pct(s['per_field'].get(f))}</td>" for f in fields)
            + f'<td>{_pct(s["abandon_rate"])}</td><td>{_ms(lat["p50"])}</td><td>{_ms(lat["p95"])}</td></tr>')
    return f"<table>{head}{''.join(rows)}</table>" if rows else "<p class=small>no sessions</p>"


def online_html(report: dict[str, Any]) -> str:
    """The online report (`report.build_online_report`) as one self-contained HTML page.

    Args:
        report: the dict `build_online_report` returns.

    Returns:
        HTML text.
    """
    fields = sorted({f for s in report["by_model_version"].values() for f in s["per_field"]}
                    | set(report["per_field"]))
    lat = report["latency_ms"]
    fb = report["feedback"]
    threshold = report.get("alert_above")
    body = [
        "<h1>pocketocr online report</h1>",
        f'<p class=meta>generated {escape(report["generated_at"])} from {escape(report["db"])}'
        + (f'; events since {escape(report["since"])}' if report.get("since") else "")
        + (f'; task {escape(report["task"])}' if report.get("task") else "") + "</p>",
        "<div class=kpis>",
        f'<div class=kpi><span>sessions</span><b>{report["n_sessions"]}</b></div>',
        f'<div class=kpi><span>submitted</span><b>{report["n_submitted"]}</b></div>',
        (f'<div class=kpi><span>correction rate</span><b>{_pct(report["correction_rate"])}</b>'
         f'<span>95% CI {_ci(report["correction_rate_ci95"])}</span></div>'),
        (f'<div class=kpi><span>abandon rate</span><b>{_pct(report["abandon_rate"])}</b>'
         f'<span>95% CI {_ci(report["abandon_rate_ci95"])}</span></div>'),
        (f'<div class=kpi><span>end-to-end p50 / p95</span><b>{_ms(lat["end_to_end"]["p50"])} / '
         f'{_ms(lat["end_to_end"]["p95"])} ms</b></div>'),
        f'<div class=kpi><span>feedback</span><b>{fb["n"]}</b></div>',
        f'<div class=kpi><span>card numbers masked</span><b>{report["pans_masked"]}</b></div>',
        "</div>",
    ]
    if report.get("alerts"):
        body.append(f'<div class=alert-box><span class=flag>⚠ correction rate above {_pct(threshold)}:</span> '
                    + ", ".join(f"<b>{escape(v)}</b> ({_pct(report['by_model_version'][v]['correction_rate'])})"
                                for v in report["alerts"]) + "</div>")

    # correction rate over time, one line per model version
    days = sorted({d for s in report["by_model_version"].values() for d in s["by_day"]})
    series = {v: [(d, x["correction_rate"], x["correction_rate_ci95"]) for d, x in s["by_day"].items()]
              for v, s in report["by_model_version"].items()}
    body += ["<h2>Correction rate over time, per model version</h2>",
             line_chart(series, days, "correction rate per day and model version", threshold=threshold)
             if days else "<p class=small>no sessions</p>",
             "<h2>By model version</h2>",
             _group_table(report["by_model_version"], "model version", fields, mark_alerts=threshold is not None)]

    body.append("<h2>Per field</h2><table><tr><th>field</th><th>edited</th><th>submitted with the field</th>"
                "<th>rate</th><th>95% CI</th></tr>")
    for f, c in report["per_field_counts"].items():
        body.append(f"<tr><td>{escape(f)}</td><td>{c['edited']}</td><td>{c['n']}</td>"
                    f"<td>{_pct(report['per_field'][f])}</td><td>{_ci(c['ci95'])}</td></tr>")
    body.append("</table>")

    body += ["<h2>Latency</h2><div class=charts>"]
    for key, color, name in (("model", PALETTE[0], "model inference"),
                             ("end_to_end", PALETTE[1], "capture to screen")):
        h = lat[key].get("histogram") or {"edges": [], "counts": []}
        marks = {"p50": lat[key]["p50"], "p95": lat[key]["p95"], "p99": lat[key]["p99"]}
        body.append(histogram(h["edges"], h["counts"], f"{name} latency", "milliseconds", marks, color))
    body.append("</div><table><tr><th>latency ms</th><th>n</th><th>p50</th><th>p95</th><th>p99</th></tr>")
    for key in ("model", "end_to_end"):
        x = lat[key]
        body.append(f"<tr><td>{key}</td><td>{x['n']}</td><td>{_ms(x['p50'])}</td><td>{_ms(x['p95'])}</td>"
                    f"<td>{_ms(x['p99'])}</td></tr>")
    body.append("</table>")

    body += ["<h2>By app version</h2>", _group_table(report["by_app_version"], "app version", fields),
             "<h2>By device platform</h2>", _group_table(report["by_device_platform"], "platform", fields),
             "<h2>By day</h2>", _group_table(report["by_day"], "day (UTC)", fields)]
    if report["abandon_reasons"]:
        body.append("<h2>Abandon reasons</h2><table><tr><th>reason</th><th>sessions</th></tr>"
                    + "".join(f"<tr><td>{escape(r)}</td><td>{n}</td></tr>"
                              for r, n in report["abandon_reasons"].items()) + "</table>")

    body.append("<h2>Voice of the customer</h2>")
    if fb["n"]:
        mean = fb["rating"]["mean"]
        body.append(f'<p>{fb["n"]} feedback messages; mean rating '
                    f'{"–" if mean is None else f"{mean:.2f}"} of 5 ({fb["rating"]["n"]} rated).</p>')
        body.append(hbar_chart(list(fb["by_category"].items()), "feedback by category"))
        for category, n in fb["by_category"].items():
            body.append(f'<div class=voc><b>{escape(category)}</b> <span class=small>{n} messages</span>')
            for item in fb["examples"].get(category, []):
                rating = f'{item["rating"]}/5 · ' if item.get("rating") else ""
                body.append(f'<q>{escape(item["text"])}</q><span class=small>{rating}{escape(item["ts"][:16])} · '
                            f'{escape(item["model_version"])} · {escape(item["app_version"])} · '
                            f'{escape(item["platform"])}</span>')
            body.append("</div>")
        body.append("<h2>Latest feedback</h2><table><tr><th>time (UTC)</th><th>category</th><th>rating</th>"
                    "<th>model version</th><th style='text-align:left'>text</th></tr>")
        for item in fb["latest"]:
            body.append(f'<tr><td>{escape(item["ts"][:19])}</td><td>{escape(item["category"])}</td>'
                        f'<td>{item["rating"] or "–"}</td><td>{escape(item["model_version"])}</td>'
                        f'<td style="text-align:left;white-space:normal">{escape(item["text"])}</td></tr>')
        body.append("</table>")
    else:
        body.append("<p class=small>no feedback</p>")
    return _page("pocketocr online report", body)


def gap_html(gap: dict[str, Any]) -> str:
    """The offline-online gap report (`gap.build_gap_report`) as one self-contained HTML page.

    Args:
        gap: the dict `build_gap_report` returns.

    Returns:
        HTML text.
    """
    rows = gap["versions"]
    body = [
        "<h1>pocketocr offline ↔ online gap</h1>",
        (f'<p class=meta>generated {escape(gap["generated_at"])}; flag when |online − offline| &gt; '
         f'{gap["max_gap"] * 100:.1f} points</p>'),
    ]
    if gap["flagged"]:
        body.append('<div class=alert-box><span class=flag>⚠ offline and online disagree for:</span> '
                    + ", ".join(f"<b>{escape(v)}</b>" for v in gap["flagged"]) + "</div>")
    body.append(dumbbell_chart([(r["model_version"], r["offline_needs_correction"], r["online_correction_rate"],
                                 r["flagged"]) for r in rows], "offline vs online per model version"))
    body.append("<table><tr><th>model version</th><th>task</th><th>offline n</th><th>offline needs-correction</th>"
                "<th>online submitted</th><th>online correction rate</th><th>95% CI</th><th>offline inside CI</th>"
                "<th>gap (points)</th><th>flag</th></tr>")
    for r in rows:
        gap_pts = "–" if r["gap"] is None else f"{r['gap'] * 100:+.1f}"
        body.append(f'<tr{" class=alert" if r["flagged"] else ""}><td>{escape(r["model_version"])}</td>'
                    f'<td>{escape(r.get("task") or "–")}</td><td>{r.get("offline_n") or "–"}</td>'
                    f'<td>{_pct(r["offline_needs_correction"])}</td><td>{r["online_n_submitted"]}</td>'
                    f'<td>{_pct(r["online_correction_rate"])}</td><td>{_ci(r["online_correction_rate_ci95"])}</td>'
                    f'<td>{ {True: "yes", False: "no", None: "–"}[r["offline_in_online_ci95"]] }</td>'
                    f'<td>{gap_pts}</td><td>{"<span class=flag>⚠ gap</span>" if r["flagged"] else ""}</td></tr>')
    body.append("</table>")
    return _page("pocketocr offline-online gap", body)
