"""`python -m bench [give|leaderboard|slack …]`: run benchmarks, rewrite docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from . import give, leaderboard, refresh, slack_serve
from .common import machine

SUITES = {
    "give": ("GiveKudos through the bus", give.run),
    "leaderboard": ("Leaderboard as history grows", leaderboard.run),
    "slack": ("Signed /kudos through laurel serve", slack_serve.run),
    "refresh": ("Allowance refresh of a whole organisation", refresh.run),
}
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Run `python -m bench` (all) or `python -m bench give leaderboard`; set `LAUREL_BENCH_PG_URL`
(or `LAUREL_TEST_PG_URL`) to include PostgreSQL (`slack` runs only then). Each run rewrites
the sections it ran.
Figures are measured on the machine named under each table; they are not assertions in
the test suite.
"""


def markdown(title: str, rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    lines = [f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[c] for c in columns) + " |" for row in rows]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    lines += ["", f"Measured {stamp} on {machine()}.", ""]
    return "\n".join(lines)


def merge(sections: dict[str, str]) -> str:
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    kept = {}
    for chunk in old.split("\n## ")[1:]:
        kept[chunk.split("\n", 1)[0]] = "## " + chunk.rstrip() + "\n"
    notes = kept.pop("Notes", None)  # the notes stay last, after any new section
    kept.update(sections)
    if notes is not None:
        kept["Notes"] = notes
    return HEADER + "\n" + "\n".join(kept.values())


async def main(names: list[str]) -> None:
    console = Console()
    sections = {}
    with Progress(console=console) as progress:
        for name in names:
            title, run = SUITES[name]
            rows = await run(progress)
            if not rows:  # the suite could not run here (e.g. it needs PostgreSQL)
                continue
            sections[title] = markdown(title, rows)
            table = Table(title=title)
            for column in rows[0]:
                table.add_column(column)
            for row in rows:
                table.add_row(*row.values())
            console.print(table)
    DOC.write_text(merge(sections), encoding="utf-8")
    console.print(f"wrote {DOC}")


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(SUITES)
    unknown = [n for n in chosen if n not in SUITES]
    if unknown:
        sys.exit(f"unknown benchmark: {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    asyncio.run(main(chosen))
