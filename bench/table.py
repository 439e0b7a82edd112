"""One row of the benchmark table, printed by a benchmark and collected by ``python -m bench``.

A benchmark calls :func:`row` for each figure the table shows (issue 17's table:
the workloads a user touches first, each against a limit measured in the same run).
The line is tab-separated after a ``ROW`` marker, so the runner can pick it out of
everything else the benchmark prints; :func:`markdown` turns the collected rows into
the table the README shows.
"""

from __future__ import annotations

import os

MARK = "ROW\t"
COLUMNS = ("workload", "carta-trio, this run", "limit, same run", "ours / limit", "goal", "C++ reference (quiet box)")


def row(workload: str, ours: str, limit: str, ratio: float | None, goal: str = "", reference: str = "") -> None:
    """Print one table row (``ratio`` is ours / limit, None when there is no limit)."""
    ratio_text = "—" if ratio is None else f"{ratio:.2f}"
    load = f"load {os.getloadavg()[0]:.1f}"
    fields = (workload, ours, limit, ratio_text, goal, reference, load)
    print(MARK + "\t".join(f.replace("\t", " ") for f in fields), flush=True)


def parse(line: str) -> tuple[str, ...] | None:
    """The fields of a row line, or None for any other line."""
    if not line.startswith(MARK):
        return None
    return tuple(line[len(MARK):].rstrip("\n").split("\t"))


def markdown(rows: list[tuple[str, ...]]) -> str:
    """The rows as a markdown table (the load each row was measured under goes in the
    ratio's column: without it a figure from this shared machine means little)."""
    lines = ["| " + " | ".join(COLUMNS) + " | load |", "|" + "---|" * (len(COLUMNS) + 1)]
    for fields in rows:
        padded = (*fields, *([""] * (len(COLUMNS) + 1 - len(fields))))
        lines.append("| " + " | ".join(padded[: len(COLUMNS) + 1]) + " |")
    return "\n".join(lines)
