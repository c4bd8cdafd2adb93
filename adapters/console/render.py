"""Draw cards with rich. Right-to-left languages are right-aligned."""

from __future__ import annotations

from rich.console import Console, Group, JustifyMethod
from rich.panel import Panel
from rich.text import Text as RichText

from adapters.chat.cards import Card, Tone
from adapters.i18n import Renderer

_BORDER = {Tone.OK: "green", Tone.INFO: "cyan", Tone.ERROR: "red"}


def draw(console: Console, card: Card, render: Renderer) -> None:
    justify: JustifyMethod = "right" if render.rtl else "left"
    parts: list[RichText] = []
    for i, section in enumerate(card.sections):
        if i:
            parts.append(RichText(""))
        if section.heading is not None:
            parts.append(RichText(render(section.heading), style="bold", justify=justify))
        parts.extend(RichText(render(line), justify=justify) for line in section.lines)
    title = None
    if card.title is not None:
        title = f"{card.badge} {render(card.title)}".strip()
    console.print(
        Panel(
            Group(*parts),
            title=title,
            title_align="right" if render.rtl else "left",
            border_style=_BORDER[card.tone],
            expand=False,
        )
    )


def notice(console: Console, line: str, render: Renderer) -> None:
    justify: JustifyMethod = "right" if render.rtl else "left"
    console.print(RichText(f"🔔 {line}", style="dim", justify=justify))
