"""Line charts as inline SVG, drawn here: no JavaScript, no fonts or images fetched.

A compliance officer opens the page offline, prints it, or attaches it to an e-mail; it
must look the same everywhere, so the chart is plain SVG elements with explicit geometry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True, slots=True)
class Series:
    """One line: a label and (date, value) points in date order."""

    label: str
    points: Sequence[tuple[dt.date, float]]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        if value <= step * 5:
            return step * 5
    return value * 1.1


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    limit: float,
    warnings: Sequence[float] = (),
    width: int = 560,
    height: int = 240,
    unit: str = "%",
) -> str:
    """An SVG line chart of ``series`` with a red limit line and amber warning lines."""
    left, right, top, bottom = 48, 130, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    dates = sorted({d for s in series for d, _ in s.points})
    peak = max([v for s in series for _, v in s.points] + [limit * 1.05])
    y_max = _nice_max(peak)
    if not dates:
        dates = [dt.date.today()]
    d0, d1 = dates[0], dates[-1]
    span = max((d1 - d0).days, 1)

    def x(d: dt.date) -> float:
        return left + plot_w * (d - d0).days / span

    def y(v: float) -> float:
        return top + plot_h * (1 - min(v, y_max) / y_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold" '
        f'font-family="sans-serif">{escape(title)}</text>',
    ]
    for i in range(6):  # horizontal grid and y labels
        v = y_max * i / 5
        yy = y(v)
        out.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{left + plot_w}" y2="{yy:.1f}" '
            f'stroke="#e5e5e5" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 4}" y="{yy + 4:.1f}" font-size="10" text-anchor="end" '
            f'font-family="sans-serif">{v:g}{unit}</text>'
        )
    for d in (d0, d0 + (d1 - d0) / 2, d1):  # x labels: first, middle, last day
        out.append(
            f'<text x="{x(d):.1f}" y="{height - 12}" font-size="10" text-anchor="middle" '
            f'font-family="sans-serif">{d.isoformat()}</text>'
        )
    for frac in warnings:
        wy = y(limit * frac)
        out.append(
            f'<line class="warning" x1="{left}" y1="{wy:.1f}" x2="{left + plot_w}" y2="{wy:.1f}" '
            f'stroke="#f0ad4e" stroke-width="1" stroke-dasharray="2,3"/>'
        )
    ly = y(limit)
    out.append(
        f'<line class="limit" x1="{left}" y1="{ly:.1f}" x2="{left + plot_w}" y2="{ly:.1f}" '
        f'stroke="#d62728" stroke-width="1.5" stroke-dasharray="6,3"/>'
    )
    out.append(
        f'<text x="{left + plot_w + 4}" y="{ly + 4:.1f}" font-size="10" fill="#d62728" '
        f'font-family="sans-serif">limit {limit:g}{unit}</text>'
    )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        pts = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in s.points)
        if len(s.points) == 1:
            (d, v) = s.points[0]
            out.append(f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}"/>')
        elif pts:
            out.append(
                f'<polyline class="series" points="{pts}" fill="none" stroke="{color}" '
                f'stroke-width="1.8"/>'
            )
        ty = top + 26 + 14 * i
        out.append(
            f'<rect x="{left + plot_w + 4}" y="{ty - 8}" width="10" height="3" fill="{color}"/>'
            f'<text x="{left + plot_w + 18}" y="{ty - 4}" font-size="10" '
            f'font-family="sans-serif">{escape(s.label[:18])}</text>'
        )
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        f'stroke="#999999" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "\n".join(out)
