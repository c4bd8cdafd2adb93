"""Charts for stats and insights, drawn server-side as small PNGs.

Matplotlib's object API (a `Figure` on its own Agg canvas), never pyplot: no global
figure state and no GUI backend. A chart is small enough to inline in a Teams Adaptive
Card as a data URI (under MAX_BYTES): 640×320 px, few colours, quantised to a palette.
The pictures hold numbers and names only; what they mean is said in the chart's title
and description, which are rendered in the reader's language with the rest of the card.

Drawing is CPU-bound: async code calls `render(trend_chart, view)`, which draws in a
worker thread so the event loop never waits for it.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
from collections.abc import Callable, Sequence
from typing import ParamSpec

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from core.analytics import DepartmentRow, Flow, InsightsView, StatsView, percent
from core.messages import MsgId, Text, points, text

from .chat.images import Chart

WIDTH, HEIGHT, DPI = 640, 320, 80
MAX_BYTES = 25_000  # Teams keeps a whole card under ~28 KB; the words need the rest
PALETTE_COLOURS = 32  # anti-aliased edges stay smooth; flat areas compress well
INK, MUTED, GRID = "#2b3445", "#6b7587", "#dfe3ea"
PRIMARY, SECONDARY = "#2a9d8f", "#e76f51"
DEPARTMENT_BARS = 12  # more bars than this get too thin to label
NETWORK_NODES = 10  # the busiest departments; more make an unreadable hairball
LABEL_CHARS = 22
NONE_LABEL = "—"  # people without a department

# Matplotlib's shared caches (fonts, text layout) are not thread-safe: one drawing at a
# time. A chart takes tens of milliseconds, so the lock costs nothing that matters.
_DRAWING = threading.Lock()

P = ParamSpec("P")


async def render(draw: Callable[P, Chart], *args: P.args, **kwargs: P.kwargs) -> Chart:
    """Draw a chart in a worker thread (e.g. `await render(trend_chart, view)`)."""
    return await asyncio.to_thread(draw, *args, **kwargs)


def trend_chart(view: StatsView) -> Chart:
    """Kudos per week as bars (left scale), points per week as a line (right scale)."""
    weeks = view.trend
    with _DRAWING:
        figure, ax = _canvas()
        xs = list(range(len(weeks)))
        ax.bar(xs, [w.kudos for w in weeks], color=PRIMARY, width=0.6)
        ax.set_xticks(xs, [f"W{w.start.isocalendar().week}" for w in weeks])
        line = ax.twinx()
        line.plot(xs, [w.points for w in weeks], color=SECONDARY, linewidth=2, marker="o")
        line.set_ylim(bottom=0)  # both scales start at zero, on the same baseline
        _style(ax, colour=PRIMARY)
        _style(line, colour=SECONDARY, right=True)
        png = _png(figure)
    last = weeks[-1] if weeks else None
    alt = text(
        MsgId.CHART_TREND_ALT,
        kudos=Text(MsgId.KUDOS_COUNT, {}, last.kudos if last else 0),
        points=points(last.points if last else 0),
    )
    return Chart(png, text(MsgId.CHART_TREND_TITLE), alt)


def departments_chart(view: StatsView) -> Chart:
    """Points received per department, most first, as horizontal bars with their values."""
    rows = sorted(view.departments, key=lambda r: -r.points)[:DEPARTMENT_BARS]
    with _DRAWING:
        figure, ax = _canvas(left=0.24)
        ys = list(range(len(rows)))
        values = [r.points for r in rows]
        ax.barh(ys, values, color=PRIMARY, height=0.6)
        ax.set_yticks(ys, [_label(r.department) for r in rows])
        ax.invert_yaxis()  # most points on top
        for y, value in zip(ys, values, strict=True):
            ax.annotate(
                str(value),
                (value, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                color=INK,
                fontsize=9,
            )
        _style(ax, colour=INK, horizontal=True)
        png = _png(figure)
    return Chart(png, text(MsgId.CHART_DEPARTMENTS_TITLE), _departments_alt(rows))


def _departments_alt(rows: Sequence[DepartmentRow]) -> Text:
    top = rows[0] if rows else None
    return text(
        MsgId.CHART_DEPARTMENTS_ALT,
        department=_label(top.department) if top else NONE_LABEL,
        points=points(top.points if top else 0),
    )


def network_chart(view: InsightsView) -> Chart:
    """Departments on a circle, sized by the kudos their people received; arrows from the
    giver's department to the receiver's, as thick as the kudos that crossed."""
    nodes = _busiest(view.flows)
    with _DRAWING:
        figure = _figure()
        ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_xlim(-2.4, 2.4)
        ax.set_ylim(-1.35, 1.35)
        places = _circle(nodes)
        sizes = _node_sizes(view.flows, places)
        _edges(ax, [f for f in view.flows if f.crosses], places, sizes)
        _nodes(ax, places, sizes)
        png = _png(figure)
    alt = text(MsgId.CHART_NETWORK_ALT, percent=percent(view.cross_team))
    return Chart(png, text(MsgId.CHART_NETWORK_TITLE), alt)


def _busiest(flows: Sequence[Flow]) -> list[str | None]:
    volume: dict[str | None, int] = {}
    for f in flows:
        for department in {f.source, f.target}:
            volume[department] = volume.get(department, 0) + f.kudos
    ranked = sorted(volume, key=lambda d: (-volume[d], d or ""))
    return ranked[:NETWORK_NODES]


Places = dict[str | None, tuple[float, float]]


def _circle(nodes: Sequence[str | None]) -> Places:
    step = 2 * math.pi / max(1, len(nodes))
    # Start at the top and go clockwise, like a clock face.
    return {
        d: (math.cos(math.pi / 2 - i * step), math.sin(math.pi / 2 - i * step))
        for i, d in enumerate(nodes)
    }


def _node_sizes(flows: Sequence[Flow], places: Places) -> dict[str | None, float]:
    """Marker areas (points²), growing with the kudos a department's people received."""
    received: dict[str | None, int] = {}
    for f in flows:
        received[f.target] = received.get(f.target, 0) + f.kudos
    most = max(received.values(), default=1)
    return {d: 100 + 800 * received.get(d, 0) / most for d in places}


def _edges(ax: Axes, flows: Sequence[Flow], places: Places, sizes: dict[str | None, float]) -> None:
    shown = [f for f in flows if f.source in places and f.target in places]
    heaviest = max((f.kudos for f in shown), default=1)
    for f in shown:
        ax.annotate(
            "",
            xy=places[f.target],
            xytext=places[f.source],
            arrowprops={
                "arrowstyle": "-|>",
                "color": MUTED,
                "linewidth": 0.8 + 4 * f.kudos / heaviest,
                # Curved, so that A→B and B→A are two arrows, not one line.
                "connectionstyle": "arc3,rad=0.18",
                # Stop at the markers' edges, so every arrowhead shows.
                "shrinkA": math.sqrt(sizes[f.source]) / 2 + 2,
                "shrinkB": math.sqrt(sizes[f.target]) / 2 + 2,
            },
        )


def _nodes(ax: Axes, places: Places, sizes: dict[str | None, float]) -> None:
    for department, (x, y) in places.items():
        ax.scatter([x], [y], s=sizes[department], color=PRIMARY, zorder=3)
        away = math.sqrt(sizes[department]) / 2 + 6  # points beyond the marker's edge
        ax.annotate(
            _label(department),
            (x, y),
            xytext=(x * away, y * away),
            textcoords="offset points",
            ha="left" if x > 0.1 else "right" if x < -0.1 else "center",
            va="bottom" if y > 0.1 else "top" if y < -0.1 else "center",
            color=INK,
            fontsize=9,
        )


def _canvas(left: float = 0.07) -> tuple[Figure, Axes]:
    """A figure with one plot; `left` leaves room for long tick labels (department names)."""
    figure = _figure()
    ax = figure.add_subplot()
    figure.subplots_adjust(left=left, right=0.93, top=0.95, bottom=0.1)
    return figure, ax


def _figure() -> Figure:
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _style(ax: Axes, *, colour: str, right: bool = False, horizontal: bool = False) -> None:
    for side in ("top", "left", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=MUTED, labelsize=9, length=0)
    values = ax.xaxis if horizontal else ax.yaxis
    values.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.tick_params(axis="x" if horizontal else "y", colors=colour)
    if horizontal:
        ax.tick_params(axis="y", colors=INK)
    if not right:
        ax.grid(axis="x" if horizontal else "y", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)


def _label(department: str | None) -> str:
    if department is None:
        return NONE_LABEL
    return department if len(department) <= LABEL_CHARS else department[: LABEL_CHARS - 1] + "…"


def _png(figure: Figure) -> bytes:
    drawn = io.BytesIO()
    figure.savefig(drawn, format="png", dpi=DPI)
    drawn.seek(0)
    with Image.open(drawn) as image:
        few = image.convert("RGB").quantize(colors=PALETTE_COLOURS)
    out = io.BytesIO()
    few.save(out, format="PNG", optimize=True)
    return out.getvalue()
