"""Fuzz: a few thousand seeded messages of every client type through the real server.

Every message is built by hypothesis from the protocol descriptors
(``tests/message_strategies.py``) and sent to one session of a real server, followed
by a REGISTER_VIEWER barrier. For each: the session survives, at most
limits.MAX_ERRORS_PER_MESSAGE ERROR_DATA come back, and the server logs no traceback
(expected bad input is one log line). Derandomized, so every CI run sends the same
messages; FUZZ_EXAMPLES overrides the count (bench/bench_fuzz.py runs far more).
"""

from __future__ import annotations

import os
import pytest
from hypothesis import HealthCheck, given, settings

from carta_trio import limits
from tests.fuzz_harness import FuzzTarget, short, write_fuzz_data
from tests.message_strategies import any_message

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("fuzz-data")
    write_fuzz_data(data)
    with FuzzTarget(data.resolve(), tmp_path_factory.mktemp("fuzz-home") / ".carta") as running:
        yield running


def test_fuzzed_messages_are_answered_without_tracebacks(target: FuzzTarget) -> None:
    problems: list[str] = []
    errors: list[int] = []
    count = 0

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(message=any_message())
    def run(message) -> None:  # type: ignore[no-untyped-def]
        nonlocal count
        count += 1
        outcome = target.send(message, reopen=count % 50 == 0)
        if outcome.session_lost:
            problems.append(f"session lost: {short(message)}")
        if outcome.stalled:
            problems.append(f"no answer within {target.barrier_timeout} s: {short(message)}")
        # Jobs of the previous message may still report after its barrier: one extra
        # error is tolerated per message, a flood is not; the total is checked below.
        errors.append(outcome.errors)
        if outcome.errors > limits.MAX_ERRORS_PER_MESSAGE + 1:
            problems.append(f"{outcome.errors} ERROR_DATA: {short(message)}")
        for traceback in outcome.tracebacks:
            problems.append(f"traceback {traceback}: {short(message)}")

    run()
    assert count >= min(EXAMPLES, 1000) * 0.9
    assert target.sessions_lost == 0
    assert sum(errors) <= limits.MAX_ERRORS_PER_MESSAGE * count
    assert problems == [], f"{len(problems)} problem(s):\n" + "\n".join(problems[:60])

