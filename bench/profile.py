"""Summarise py-spy's collapsed stacks (`--format raw`): where a server spent its CPU.

`python -m bench.profile FILE.raw [--top 25] [--focus NAME]` prints the share of samples by
package (the innermost frame's), then the functions with the most samples inclusive (on
the stack) and exclusive (innermost). `--focus` keeps only stacks through a function.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


@dataclass
class Profile:
    samples: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    exclusive: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)


def frame_name(frame: str) -> tuple[str, str]:
    """("SqlLedger.post", "adapters/persistence/ledger.py") from py-spy's frame text."""
    found = FRAME.match(frame.strip())
    if not found:
        return frame.strip(), ""
    return found["name"], found["file"]


def package(path: str) -> str:
    parts = path.split("/")
    if parts[0] in ("core", "adapters", "bot"):
        return "laurel " + "/".join(parts[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py") or "?"


def read(path: Path, focus: str | None = None) -> Profile:
    profile = Profile()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, weight = line.rpartition(" ")
        if not stack or not weight.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        if focus and not any(focus in name for name, _ in frames):
            continue
        n = int(weight)
        profile.samples += n
        name, file = frames[-1]
        profile.exclusive[f"{name} ({file})"] += n
        profile.packages[package(file)] += n
        for key in {f"{name} ({file})" for name, file in frames}:
            profile.inclusive[key] += n
    return profile


def report(profile: Profile, top: int) -> str:
    total = max(profile.samples, 1)
    lines = [f"{profile.samples} samples", "", "by package (innermost frame):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in profile.packages.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in profile.inclusive.most_common(top)]
    lines += ["", "exclusive:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in profile.exclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", help="only stacks through a function containing this")
    args = parser.parse_args()
    print(report(read(args.file, args.focus), args.top))


if __name__ == "__main__":
    main()
