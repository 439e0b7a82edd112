"""Cluster jobs run as few large tasks: consecutive chunks grouped, at least ten tasks
when there are ten chunks, none much above MAX_TASK_BYTES (a task costs ~10 ms)."""

from __future__ import annotations

from carta_trio.actors import cluster

MIB = 1 << 20


def _covers(ranges: list[tuple[int, int]], n: int) -> bool:
    return [i for a, b in ranges for i in range(a, b)] == list(range(n))


def test_many_small_chunks_become_ten_tasks() -> None:
    ranges = cluster.task_ranges([24 * MIB] * 43)  # moments of a 1 GB cube
    assert len(ranges) == 10 and _covers(ranges, 43)
    assert max(b - a for a, b in ranges) - min(b - a for a, b in ranges) <= 1


def test_few_chunks_stay_one_task_each_and_big_jobs_stay_under_the_cap() -> None:
    assert cluster.task_ranges([MIB] * 5) == [(i, i + 1) for i in range(5)]
    assert cluster.task_ranges([]) == []
    ranges = cluster.task_ranges([24 * MIB] * 4000)  # ~94 GB
    assert _covers(ranges, 4000)
    assert max((b - a) * 24 * MIB for a, b in ranges) <= cluster.MAX_TASK_BYTES
