"""Small inline-SVG charts for the self-contained HTML reports (no plotting library needed).

Each function returns one `<svg>` element as text; every label is HTML-escaped here, so callers may
pass user-controlled strings (version names, categories).
"""

from __future__ import annotations

import math
from html import escape

__all__ = ["PALETTE", "dumbbell_chart", "hbar_chart", "histogram", "line_chart", "nice_max"]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def nice_max(value: float) -> float:
    """A round axis maximum >= value: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten.

    >>> nice_max(103.0), nice_max(0.42)
    (120.0, 0.5)
    """
    if value <= 0:
        return 1.0
    exp = 10.0 ** math.floor(math.log10(value))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * exp >= value * (1 - 1e-12):
            return round(m * exp, 12)
    return 10 * exp


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else (f"{value:.0f}" if value >= 10 else f"{value:.3g}")


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {_FONT}>'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")


def _y_axis(x0: float, y0: float, y1: float, x_end: float, y_max: float, percent: bool,
            ticks: int = 5) -> list[str]:
    out = []
    for i in range(ticks + 1):
        v = y_max * i / ticks
        y = y0 - (y0 - y1) * i / ticks
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x_end}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{_fmt(v, percent)}</text>')
    return out


def line_chart(series: dict[str, list[tuple[str, float | None, list[float] | None]]], x_labels: list[str],
               title: str, threshold: float | None = None, percent: bool = True,
               width: int = 860, height: int = 320) -> str:
    """One line per series over shared categorical x labels (days), with 95% interval whiskers.

    Args:
        series: name -> [(x label, value or None, [low, high] or None)].
        x_labels: every x label, in order.
        title: the chart's accessible title.
        threshold: a dashed red horizontal line (e.g. the alert level).
        percent: values are fractions shown as percentages.
        width: pixels.
        height: pixels.

    Returns:
        An `<svg>` element.
    """
    left, right, top, bottom = 56, 170, 16, 56
    x0, x1, y1, y0 = left, width - right, top, height - bottom
    highs = [ci[1] if ci else v for pts in series.values() for _, v, ci in pts if v is not None]
    y_max = nice_max(max(highs + ([threshold] if threshold is not None else []) + [0.01]))
    body = _y_axis(x0, y0, y1, x1, y_max, percent)
    n = max(len(x_labels), 1)

    def xpos(i: int) -> float:
        return x0 + (x1 - x0) * (i + 0.5) / n

    def ypos(v: float) -> float:
        return y0 - (y0 - y1) * min(v, y_max) / y_max

    # days of one year print as MM-DD; labels at least ~56 px apart
    same_year = len({label[:5] for label in x_labels}) == 1 and all(len(label) == 10 for label in x_labels)
    shown = [label[5:] if same_year else label for label in x_labels]
    step = max(1, math.ceil(n / max(1, (x1 - x0) // (56 if same_year else 84))))
    for i, label in enumerate(shown):
        if i % step == 0:
            body.append(f'<text x="{xpos(i):.1f}" y="{y0 + 16}" text-anchor="middle" fill="#555">'
                        f'{escape(label)}</text>')
    body.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#999"/>')
    if threshold is not None:
        body.append(f'<line x1="{x0}" y1="{ypos(threshold):.1f}" x2="{x1}" y2="{ypos(threshold):.1f}" '
                    f'stroke="#D55E00" stroke-dasharray="6 4"/>')
        body.append(f'<text x="{x1 + 4}" y="{ypos(threshold) + 4:.1f}" fill="#D55E00">alert '
                    f'{_fmt(threshold, percent)}</text>')
    index = {label: i for i, label in enumerate(x_labels)}
    for k, (name, pts) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        # offset each series a little so whiskers of the same day do not overlap
        dx = (k - (len(series) - 1) / 2) * min(6.0, (x1 - x0) / n / (len(series) + 1))
        coords = []
        for label, v, ci in pts:
            if v is None or label not in index:
                continue
            x = xpos(index[label]) + dx
            if ci:
                body.append(f'<line x1="{x:.1f}" y1="{ypos(ci[0]):.1f}" x2="{x:.1f}" y2="{ypos(ci[1]):.1f}" '
                            f'stroke="{color}" stroke-opacity="0.45" stroke-width="2"/>')
            coords.append((x, ypos(v)))
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in coords:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')
        ly = top + 14 + 18 * k
        body.append(f'<rect x="{x1 + 12}" y="{ly + 18}" width="12" height="3" fill="{color}"/>')
        body.append(f'<text x="{x1 + 30}" y="{ly + 23}" fill="#222">{escape(name[:22])}</text>')
    year = f" {x_labels[0][:4]}" if same_year and x_labels else ""
    body.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 12}" text-anchor="middle" fill="#555">day{year} '
                '(UTC); whiskers: Wilson 95% interval</text>')
    return _frame(width, height, title, body)


def histogram(edges: list[float], counts: list[int], title: str, x_label: str,
              marks: dict[str, float | None] | None = None, color: str = PALETTE[0],
              width: int = 420, height: int = 240) -> str:
    """Bars of pre-binned counts, with labelled vertical marks (p50, p95, ...).

    Args:
        edges: bin edges, `len(counts) + 1` of them, increasing.
        counts: samples per bin.
        title: the chart's accessible title.
        x_label: axis label.
        marks: label -> x value, drawn as dashed lines.
        color: bar colour.
        width: pixels.
        height: pixels.

    Returns:
        An `<svg>` element.
    """
    left, right, top, bottom = 24, 24, 24, 44
    x0, x1, y1, y0 = left, width - right, top, height - bottom
    body = [f'<text x="{x0}" y="14" fill="#222" font-weight="600">{escape(title)}</text>']
    if not counts or not any(counts):
        body.append(f'<text x="{(x0 + x1) / 2}" y="{(y0 + y1) / 2}" text-anchor="middle" '
                    'fill="#777">no data</text>')
        return _frame(width, height, title, body)
    x_min, x_max = edges[0], edges[-1]
    span = (x_max - x_min) or 1.0

    def xpos(v: float) -> float:
        return x0 + (x1 - x0) * (min(max(v, x_min), x_max) - x_min) / span

    c_max = max(counts)
    for i, c in enumerate(counts):
        h = (y0 - y1) * c / c_max
        xa, xb = xpos(edges[i]), xpos(edges[i + 1])
        body.append(f'<rect x="{xa + 0.5:.1f}" y="{y0 - h:.1f}" width="{max(xb - xa - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{color}" fill-opacity="0.8"/>')
    body.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#999"/>')
    for i in range(6):
        v = x_min + span * i / 5
        body.append(f'<text x="{xpos(v):.1f}" y="{y0 + 15}" text-anchor="middle" fill="#555">'
                    f'{_fmt(v, False)}</text>')
    for k, (label, v) in enumerate((marks or {}).items()):
        if v is None:
            continue
        x = xpos(v)
        body.append(f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y0}" stroke="#222" stroke-dasharray="3 3"/>')
        body.append(f'<text x="{x + 3:.1f}" y="{y1 + 10 + 12 * k}" fill="#222">{escape(label)} {v:.0f}</text>')
    body.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 8}" text-anchor="middle" fill="#555">'
                f'{escape(x_label)}; n={sum(counts)}</text>')
    return _frame(width, height, title, body)


def hbar_chart(items: list[tuple[str, int]], title: str, color: str = PALETTE[2], width: int = 560) -> str:
    """Horizontal bars with counts, one row per (label, count).

    Args:
        items: (label, count) rows, drawn top to bottom.
        title: the chart's accessible title.
        color: bar colour.
        width: pixels.

    Returns:
        An `<svg>` element.
    """
    row, left, right = 22, 150, 50
    height = 16 + row * max(len(items), 1)
    body = []
    c_max = max([c for _, c in items] + [1])
    for i, (label, c) in enumerate(items):
        y = 8 + i * row
        w = (width - left - right) * c / c_max
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" fill="#222">'
                    f'{escape(label[:24])}</text>')
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>')
        body.append(f'<text x="{left + w + 4:.1f}" y="{y + 14}" fill="#222">{c}</text>')
    return _frame(width, height, title, body)


def dumbbell_chart(rows: list[tuple[str, float | None, float | None, bool]], title: str,
                   width: int = 760) -> str:
    """Offline vs online rate per model version: two dots joined by a line, red when flagged.

    Args:
        rows: (version, offline rate, online rate, flagged).
        title: the chart's accessible title.
        width: pixels.

    Returns:
        An `<svg>` element.
    """
    row, left, right, top = 26, 170, 30, 30
    height = top + 30 + row * max(len(rows), 1)
    x0, x1 = left, width - right
    values = [v for _, a, b, _ in rows for v in (a, b) if v is not None]
    x_max = nice_max(max(values + [0.01]))
    body = []
    for i in range(6):
        v = x_max * i / 5
        x = x0 + (x1 - x0) * i / 5
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 24}" stroke="#e5e5e5"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" fill="#555">'
                    f'{_fmt(v, True)}</text>')
    body.append(f'<circle cx="{x0}" cy="12" r="5" fill="{PALETTE[0]}"/>'
                f'<text x="{x0 + 9}" y="16" fill="#222">offline needs-correction</text>'
                f'<circle cx="{x0 + 190}" cy="12" r="5" fill="{PALETTE[1]}"/>'
                f'<text x="{x0 + 199}" y="16" fill="#222">online correction rate</text>')
    for i, (version, off, on, flagged) in enumerate(rows):
        y = top + 14 + i * row
        body.append(f'<text x="{x0 - 8}" y="{y + 4}" text-anchor="end" fill="{"#D55E00" if flagged else "#222"}">'
                    f'{escape(version[:24])}</text>')
        pts = [(v, c) for v, c in ((off, PALETTE[0]), (on, PALETTE[1])) if v is not None]
        if len(pts) == 2:
            xa, xb = (x0 + (x1 - x0) * v / x_max for v, _ in pts)
            body.append(f'<line x1="{xa:.1f}" y1="{y}" x2="{xb:.1f}" y2="{y}" '
                        f'stroke="{"#D55E00" if flagged else "#999"}" stroke-width="3"/>')
        for v, c in pts:
            body.append(f'<circle cx="{x0 + (x1 - x0) * v / x_max:.1f}" cy="{y}" r="6" fill="{c}"/>')
    return _frame(width, height, title, body)
