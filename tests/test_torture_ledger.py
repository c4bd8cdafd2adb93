"""Ledger conservation under a long hypothesis run: the state machine of
tests/test_ledger_stateful.py (random gives, replays, reversals, holds and their
resolutions, refreshes, time passing; the whole ledger read back and checked after every
step) for at least 10,000 steps on SQLite and on PostgreSQL.

Slow tier (LAUREL_SLOW=1); the normal suite runs the short version in
test_ledger_stateful.py. LAUREL_TORTURE_STEPS changes the number of steps (default
10,000), LAUREL_TORTURE_STEPS_PER_RUN the length of one random run (default 250: each run
starts on a freshly migrated database).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from .conftest import PG_URL
from .test_ledger_stateful import SEEN, LedgerMachine

STEPS = int(os.environ.get("LAUREL_TORTURE_STEPS", "10000"))
PER_RUN = int(os.environ.get("LAUREL_TORTURE_STEPS_PER_RUN", "250"))
CHECKS: Counter[str] = Counter()  # backend -> invariant checks: one per step, one per start
STARTS: Counter[str] = Counter()  # backend -> random runs started (fresh databases)


class CountedMachine(LedgerMachine):
    backend: ClassVar[str] = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        STARTS[self.backend] += 1

    @invariant()
    def counted(self) -> None:
        CHECKS[self.backend] += 1


def steps(backend: str) -> int:
    return CHECKS[backend] - STARTS[backend]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "pg"])
def test_ledger_conservation_over_ten_thousand_steps(backend: str) -> None:
    if backend == "pg" and not PG_URL:
        pytest.skip("LAUREL_TEST_PG_URL is not set")
    machine = type(f"Torture_{backend}", (CountedMachine,), {"backend": backend})
    started = time.perf_counter()
    while steps(backend) < STEPS:  # a random run may end before PER_RUN steps
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=max(1, -(-(STEPS - steps(backend)) // PER_RUN)),
                stateful_step_count=PER_RUN,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    print(
        f"{backend}: {steps(backend)} steps in {STARTS[backend]} runs,",
        f"{time.perf_counter() - started:.0f} s;",
        dict(SEEN.most_common()),
    )
    for path in ("gift", "gift replayed", "hold resolved", "second resolution refused"):
        assert SEEN[path] > 0, f"no step took the path {path!r}"
    SEEN.clear()
