"""Progress cadence of moments and PV as the reference's rules (issue 13)."""

from __future__ import annotations

from carta_trio.actors.progress_pacing import IntervalPacing, MomentPacing


def test_moment_progress_every_tenth_and_first_after_five_seconds() -> None:
    pacing = MomentPacing(start=0.0)
    # fast steps: only at each +0.1, no time-based extras
    sent = [f for f, t in [(0.05, 0.1), (0.1, 0.2), (0.15, 0.3), (0.2, 0.4), (0.29, 0.5), (0.3, 0.6)]
            if pacing.due(f, t)]
    assert sent == [0.1, 0.2, 0.3]
    slow = MomentPacing(start=0.0)
    # slow steps: the first report once 5 s have passed, then again only per +0.1
    sent = [f for f, t in [(0.01, 1.0), (0.02, 4.9), (0.03, 5.0), (0.04, 9.0), (0.1, 12.0), (0.15, 30.0)]
            if slow.due(f, t)]
    assert sent == [0.03, 0.1]


def test_pv_progress_after_half_a_second_and_at_the_end() -> None:
    pacing = IntervalPacing(start=0.0)
    steps = [(0.1, 0.2), (0.2, 0.4), (0.3, 0.6), (0.4, 0.8), (0.5, 1.2), (0.6, 1.3), (1.0, 1.4)]
    assert [f for f, t in steps if pacing.due(f, t)] == [0.3, 0.5, 1.0]
