"""Servers as subprocesses: start, wait until healthy, read their RSS and CPU, profile, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp

import core

from .common import LOCALHOST

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0  # SIGTERM, then SIGKILL
ERROR_RECORD = re.compile(r"\bERROR:[\w.]+:")  # how an ERROR record starts in laurel's log
# The laurel being measured: the tree this process imported `core` from (a checkout of
# another commit, for a before/after, when `python -m bench` runs from there), and the
# tree the benchmarks come from.
LAUREL = Path(core.__file__).resolve().parents[1]
BENCH = Path(__file__).absolute().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        return int(s.getsockname()[1])


def environment(**values: str) -> dict[str, str]:
    """This process's environment without Slack, database or benchmark settings, + `values`;
    the laurel measured here and the benchmarks are on PYTHONPATH, in that order."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "LAUREL_", "BENCH_", "PYTHONPATH"))
    }
    path = os.pathsep.join(dict.fromkeys([str(LAUREL), str(BENCH)]))
    return {**inherited, "PYTHONPATH": path, **values}


def laurel_executable() -> str:
    return str(Path(sys.executable).with_name("laurel"))


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def rss(self) -> int:
        """VmRSS in KiB (0 once the process is gone)."""
        return status_kib(self.pid, "VmRSS")

    def logged_errors(self) -> int:
        """Log records of level ERROR so far (one per failure, with its traceback)."""
        try:
            return len(ERROR_RECORD.findall(self.log.read_text(errors="replace")))
        except OSError:
            return 0

    def cpu(self) -> float:
        """User + system CPU seconds the process has used so far."""
        return cpu_seconds(self.pid)


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def subprocess_server(
    name: str, argv: list[str], env: dict[str, str], port: int
) -> AsyncIterator[Server]:
    """Start argv, wait for GET /healthz = 200 on port; SIGTERM (then SIGKILL) on the way out."""
    workdir = Path(tempfile.mkdtemp(prefix=f"laurel-bench-{name.replace(' ', '-')}-"))
    log_path = workdir / "server.log"
    log: TextIO = log_path.open("w")
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=workdir,  # no stray .env is read
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, process, f"http://{LOCALHOST}:{port}", log_path)
    try:
        await _wait_healthy(server)
        yield server
    finally:
        await stop(process)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


async def stop(process: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> None:
    if process.returncode is None:
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{server.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} not healthy after {STARTUP_TIMEOUT:.0f} s:\n{server.tail()}")


@contextlib.asynccontextmanager
async def profiled(pid: int, out: Path | None, *, rate: int = 250) -> AsyncIterator[None]:
    """py-spy attached to `pid` for the body of the `with` (nothing when `out` is None).

    Writes `out` as collapsed stacks (`--format raw`): `python -m bench.profile out`
    summarises them, and flamegraph.pl or speedscope draw them.
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if out is None:
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(0.5)  # attached before the load starts
        yield
    finally:
        await stop(process, signal.SIGINT)  # py-spy writes its file on SIGINT


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class CpuMeter:
    """Where the machine's CPU went between `start()` and `stop()`: the processes named,
    and the whole machine (so work by anything else on it shows)."""

    pids: dict[str, list[int]]
    before: dict[int, float] | None = None
    machine_before: tuple[int, int] = (0, 0)
    used: dict[str, float] | None = None
    busy_cores: float = 0.0  # average number of cores busy

    def start(self) -> None:
        self.before = {pid: cpu_seconds(pid) for pids in self.pids.values() for pid in pids}
        self.machine_before = machine_jiffies()

    def stop(self, extra: dict[str, list[int]] | None = None) -> None:
        """`extra`: processes that appeared meanwhile (new PostgreSQL backends)."""
        assert self.before is not None
        busy, total = machine_jiffies()
        cores = os.cpu_count() or 1
        self.busy_cores = (busy - self.machine_before[0]) / max(total - self.machine_before[1], 1)
        self.busy_cores *= cores
        groups = {**self.pids}
        for name, pids in (extra or {}).items():
            groups[name] = sorted({*groups.get(name, []), *pids})
        self.used = {
            name: sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids)
            for name, pids in groups.items()
        }


QUIET_WITHIN = 120.0


async def quiet(pid: int, *, period: float = 0.5, busy: float = 0.05) -> None:
    """Wait until the process used less than `busy` of a core over `period` (its start-up
    work, such as `laurel serve`'s scheduler catching up, is done), or QUIET_WITHIN."""
    deadline = time.monotonic() + QUIET_WITHIN
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(period)
        if cpu_seconds(pid) - before < busy * period:
            return
