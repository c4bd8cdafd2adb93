"""docs/benchmarks.md: each benchmark rewrites its own sections, the rest stays as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .common import Section

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
KEPT_LAST = ("Profiles, fixes and what is left",)  # hand-written sections, after the figures
HEADER = """# Benchmarks

The Proof issue's benchmarks: every figure is measured against a baseline run in the same
process tree, on the same machine, in the same run, and the ratio is what is judged.
`python -m bench all` runs them all and rewrites the sections below (about {duration} on
the machine they name); `python -m bench e2e ledger` runs some; `--quick` runs small sizes
as a smoke test and only prints its tables; `--profile DIR` records py-spy profiles of the
servers under load. PostgreSQL comes from `LAUREL_BENCH_PG_URL` (or `LAUREL_TEST_PG_URL`);
each benchmark creates its own database or schema there and drops it afterwards. These are
measurements, not assertions of the test suite.
"""


def markdown(section: Section, machine: str, databases: str, elapsed: float) -> str:
    columns = list(section.rows[0])
    lines = [f"## {section.title}", "", section.about.strip(), ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[c] for c in columns) + " |" for row in section.rows]
    if section.targets:
        lines += ["", "| target | measured | verdict |", "|---|---|---|"]
        lines += [
            f"| {t.goal} | {t.measured} | {'met' if t.met else '**missed**'} |"
            for t in section.targets
        ]
    if section.notes:
        lines += [""] + [f"* {note}" for note in section.notes]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    setup = f" {section.setup.strip()}" if section.setup else ""
    lines += [
        "",
        f"Measured {stamp} on {machine}; {databases}.{setup} This benchmark took"
        f" {_duration(elapsed)}.",
        "",
    ]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def merge(doc: Path, sections: dict[str, str], total: float | None) -> str:
    """The document with `sections` replaced or added; hand-written ones stay last."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    kept: dict[str, str] = {}
    for chunk in old.split("\n## ")[1:]:
        kept[chunk.split("\n", 1)[0]] = "## " + chunk.rstrip() + "\n"
    last = {title: kept.pop(title) for title in KEPT_LAST if title in kept}
    kept.update(sections)
    kept.update(last)
    duration = _previous_duration(old) if total is None else _duration(total)
    return HEADER.format(duration=duration) + "\n" + "\n".join(kept.values())


def _previous_duration(old: str) -> str:
    marker = "rewrites the sections below (about "
    if marker in old:
        return old.split(marker, 1)[1].split(" on\n", 1)[0].split(" on ", 1)[0]
    return "an hour"


def show(console: Console, section: Section) -> None:
    table = Table(title=section.title)
    for column in section.rows[0]:
        table.add_column(column)
    for row in section.rows:
        table.add_row(*row.values())
    console.print(table)
    for target in section.targets:
        verdict = "[green]met[/]" if target.met else "[red]missed[/]"
        console.print(f"  {target.goal}: {target.measured} — {verdict}")
    for note in section.notes:
        console.print(f"  • {note}")
