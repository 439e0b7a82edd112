"""Benchmarks: ``python3 -m bench`` prints issue 17's table; ``python3 -m bench all`` runs every one.

Without arguments the four benchmarks behind the table run one after another at the
table's sizes (:data:`TABLE`: a few minutes on a quiet box): the first view and all
tiles of a 4096² image, the file list of 10,000 and 100,000 entries, spectral
profiles and the cube histogram of a 1 GB cube, moments of the same cube (checked
against numpy). ``all`` runs every ``bench_*`` module at its default size; any other
arguments pick modules by name. Each benchmark prints its own figures as ratios to a
limit measured in the same run; the rows it marks for the table (:mod:`bench.table`)
are collected and printed at the end as one markdown table, with the load average
each row was measured under (the machine is shared: times alone mean little).
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import table

HERE = Path(__file__).resolve().parent

#: The table's benchmarks and their sizes (issue 17).
TABLE: dict[str, list[str]] = {
    "bench_tile_stream": ["--size", "4096", "--cube", "512", "512", "40"],
    "bench_file_browser": ["--entries", "10000", "--huge", "100000", "--repeats", "5"],
    "bench_profiles": ["--size", "512", "--depth", "1000", "--hist-depth", "1000", "--hist-repeats", "2"],
    "bench_moments": ["--size", "512", "--depth", "1000", "--repeats", "2"],
}


def run(module: str, args: list[str], rows: list[tuple[str, ...]]) -> int:
    """Run one benchmark, echoing its output and keeping its table rows."""
    print(f"\n=== {module} {' '.join(args)}  (load {os.getloadavg()[0]:.1f})", flush=True)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", f"bench.{module}", *args], cwd=HERE.parent,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        fields = table.parse(line)
        if fields is not None:
            rows.append(fields)
        print(line, end="", flush=True)
    code = proc.wait()
    print(f"--- {module}: exit {code}, {time.perf_counter() - start:.1f} s", flush=True)
    return code


def main(names: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if not names:
        chosen = [(m, TABLE[m]) for m in TABLE]
    elif names == ["all"]:
        chosen = [(m, []) for m in modules]
    else:
        chosen = [(m, TABLE.get(m, [])) for m in modules if any(n in m for n in names)]
    rows: list[tuple[str, ...]] = []
    failed = [module for module, args in chosen if run(module, args, rows)]
    if rows:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        command = " ".join(["python3 -m bench", *names])
        print(f"\n## Benchmark table ({stamp}, {os.cpu_count()} cores, `{command}`)\n", flush=True)
        print(table.markdown(rows), flush=True)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
