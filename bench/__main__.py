"""Run every benchmark with its default (about a minute) size: ``python3 -m bench [NAME ...]``.

Each benchmark prints its own ratios against a baseline measured in the same run;
this runner only runs them one after another and reports which ones failed to run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    chosen = [m for m in modules if not names or any(n in m for n in names)]
    failed = []
    for module in chosen:
        print(f"\n=== {module}", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", f"bench.{module}"], cwd=HERE.parent)
        print(f"--- {module}: exit {result.returncode}, {time.perf_counter() - start:.1f} s", flush=True)
        if result.returncode:
            failed.append(module)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
