"""How a folder listing reports its progress: the FILE_LIST_PROGRESS items a listing
generator yields, when they are due (the reference's rule, with an earlier first report),
and plain checkpoints so that a STOP can interrupt a long listing
(``BE:src/Timer/ListProgressReporter.cc``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, TypeVar

from carta_trio.messages import schema as pb

T = TypeVar("T")

#: The first FILE_LIST_PROGRESS once a listing has run this long (seconds). The
#: reference waits for more than 5 whole seconds, during which a user looking at a
#: huge folder sees nothing and cannot cancel; here a slow folder shows its progress
#: bar at once (a deliberate difference; quick listings still send none).
FIRST_PROGRESS_AFTER_SECS = 0.05
#: Later reports: the reference's interval (whole seconds, compared with ``>`` after truncation).
PROGRESS_INTERVAL_SECS = 2


@dataclass(frozen=True)
class ListProgress:
    """Progress of a listing; ``report`` is True when FILE_LIST_PROGRESS is due."""

    checked: int
    total: int
    report: bool = False

    @property
    def percentage(self) -> float:
        return self.checked / self.total if self.total else 0.0


def progress_message(progress: ListProgress, list_type: int = pb.FileListType.Image) -> pb.ListProgress:
    """The FILE_LIST_PROGRESS message for ``progress`` (Image type also for region lists)."""
    return pb.ListProgress(
        file_list_type=list_type,
        total_count=progress.total,
        checked_count=progress.checked,
        percentage=progress.percentage,
    )


class ListingPace:
    """When a listing yields progress: the reference's report rule, plus a plain
    checkpoint every ``checkpoint`` seconds so a STOP can interrupt it."""

    def __init__(
        self, total: int, clock: Callable[[], float] = time.monotonic, checkpoint: float = 0.2,
        started: float | None = None,
    ) -> None:
        """``started``: when the listing began (its clock), if before this pace was made
        (reading a huge folder's names takes a while before ``total`` is known)."""
        self.total = total
        self._clock = clock
        self._checkpoint = checkpoint
        self._cadence = ProgressCadence(clock, started)
        self._last = clock() if started is None else started
        self._next_look = self._last

    def tick(self, checked: int) -> ListProgress | None:
        """The progress to yield after ``checked`` entries, or None (one clock read and
        a comparison per entry until something is due)."""
        now = self._clock()
        if now < self._next_look:
            return None
        progress = None
        if self._cadence.due(now):
            self._last = now
            progress = ListProgress(checked, self.total, report=True)
        elif now - self._last >= self._checkpoint:
            self._last = now
            progress = ListProgress(checked, self.total)
        self._next_look = min(self._last + self._checkpoint, self._cadence.next_due())
        return progress


def final_item(items: Iterable[object], kind: type[T]) -> T:
    """Run a listing generator to its end and return its response (of type ``kind``)."""
    result: T | None = None
    for item in items:
        if isinstance(item, kind):
            result = item
    assert result is not None, "a listing always ends with its response"
    return result


class ProgressCadence:
    """The reference's reporting rule, with an injectable clock for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, started: float | None = None) -> None:
        self._clock = clock
        self._start = clock() if started is None else started
        self._first_made = False

    def next_due(self) -> float:
        """The clock time from which :meth:`due` is True."""
        if self._first_made:
            return self._start + PROGRESS_INTERVAL_SECS + 1
        return self._start + FIRST_PROGRESS_AFTER_SECS

    def due(self, now: float | None = None) -> bool:
        """True (and the timer restarts) when a progress report is due now."""
        if now is None:
            now = self._clock()
        if self._first_made:
            due = math.floor(now - self._start) > PROGRESS_INTERVAL_SECS
        else:
            due = now - self._start >= FIRST_PROGRESS_AFTER_SECS
        if due:
            self._first_made = True
            self._start = now
            return True
        return False
