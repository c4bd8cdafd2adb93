"""`python -m bench all [--quick] [--profile DIR]` or `python -m bench e2e ledger …`."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import e2e, fanout, leaderboard, ledger, memory, refresh
from .common import Options, Section, database_versions, machine, revision
from .procs import LAUREL
from .report import DOC, markdown, merge, show

Suite = Callable[[Progress, Options], Awaitable[list[Section]]]
SUITES: dict[str, tuple[str, Suite]] = {
    "e2e": ("signed Slack /kudos through laurel serve, empty and with 1M gifts", e2e.run),
    "ledger": ("GiveKudos through core and persistence vs its own SQL, raw", ledger.run),
    "refresh": ("allowance refresh of 100k people vs one set-based UPDATE", refresh.run),
    "leaderboard": ("leaderboard at 100k and 10M ledger entries", leaderboard.run),
    "memory": ("RSS of laurel serve idle and under load", memory.run),
    "fanout": ("10k DMs against a rate-limited fake Slack API", fanout.run),
}


def parse(argv: list[str] | None = None) -> tuple[list[str], Options]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"all, or some of: {', '.join(SUITES)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes; docs left alone")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles of servers here")
    parser.add_argument("--doc", type=Path, default=DOC, help=f"the report (default {DOC})")
    args = parser.parse_args(argv)
    names = list(SUITES) if not args.names or args.names == ["all"] else args.names
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        parser.error(f"unknown benchmark: {', '.join(unknown)} (choose from {', '.join(SUITES)})")
    return names, Options(quick=args.quick, profile=args.profile, doc=args.doc)


async def main(names: list[str], options: Options) -> None:
    console = Console()
    where, databases = machine(), f"{await database_versions()}; {revision(LAUREL)}"
    console.print(f"{where}; {databases}")
    rendered: dict[str, str] = {}
    begin = time.perf_counter()
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        for name in names:
            started = time.perf_counter()
            sections = await SUITES[name][1](progress, options)
            elapsed = time.perf_counter() - started
            for section in sections:
                show(console, section)
                rendered[section.title] = markdown(section, where, databases, elapsed)
    total = time.perf_counter() - begin
    console.print(f"{len(names)} benchmark(s) in {total / 60:.1f} min")
    if options.quick:
        console.print("--quick: sizes too small to judge; docs/benchmarks.md left alone")
        return
    everything = set(names) == set(SUITES)
    doc = options.doc or DOC
    doc.write_text(merge(doc, rendered, total if everything else None), encoding="utf-8")
    console.print(f"wrote {doc} (laurel from {LAUREL})")


if __name__ == "__main__":
    chosen, opts = parse()
    asyncio.run(main(chosen, opts))
