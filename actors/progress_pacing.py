"""When the reference sends a progress message, as pure rules (times in seconds).

* Moments (``MomentGenerator::setStepsCompleted``): whenever progress has grown by
  at least 0.1 since the last report, and once, the first time progress is reported
  at least 5 s after the start if no report was made before.
* PV and line profiles (``RegionHandler``, ``LINE_PROFILE_PROGRESS_INTERVAL``): after
  a step, if more than 0.5 s passed since the start or the last report, or at 1.0.
* Cube histogram (``UPDATE_HISTOGRAM_PROGRESS_PER_SECONDS``): more than 2 s since the
  last report (see :mod:`carta_trio.actors.cube_histogram`).
* Fitting: one per solver iteration (see :mod:`carta_trio.actors.fitting`).
"""

from __future__ import annotations

#: MomentGenerator.h: FIRST_PROGRESS_AFTER_MILLI_SECS, PROGRESS_REPORT_INTERVAL.
MOMENT_FIRST_REPORT_AFTER = 5.0
MOMENT_REPORT_STEP = 0.1
#: RegionHandler.cc: LINE_PROFILE_PROGRESS_INTERVAL (ms).
LINE_PROFILE_INTERVAL = 0.5


class MomentPacing:
    """The moment generator's rule; :meth:`due` for each completed step."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.last_reported = 0.0
        self.reported = False

    def due(self, fraction: float, now: float) -> bool:
        due = False
        if not self.reported and now - self.start >= MOMENT_FIRST_REPORT_AFTER:
            due = True
        if fraction - self.last_reported >= MOMENT_REPORT_STEP - 1e-9:
            self.last_reported = fraction
            due = True
        if due:
            self.reported = True
        return due


class IntervalPacing:
    """The line-profile/PV rule: more than ``interval`` since the start or the last
    report, or complete."""

    def __init__(self, start: float, interval: float = LINE_PROFILE_INTERVAL) -> None:
        self.last = start
        self.interval = interval

    def due(self, fraction: float, now: float) -> bool:
        if now - self.last > self.interval or fraction >= 1.0:
            self.last = now
            return True
        return False
