"""Start-up of the whole app process to the first painted inbox, on a big desk.

    .venv/bin/python bench/bench_tui.py [/tmp/bench1m.db] [runs]

Measures wall time of ``python -m crm_tui --db PATH`` run headless (``TEXTUAL_HEADLESS``-style: Textual's
``headless=True`` through ``CRM_EXIT_AFTER_PAINT``): interpreter start, imports, opening and migrating
the database, the first keyset page of leads and the first frame, then exit. Prints median and max.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

DB = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench1m.db"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 7

CODE = (
    "import sys; from crm_tui.app import make_app; "
    "make_app(sys.argv[1]).run(headless=True, size=(120, 40))"
)


def main() -> None:
    env = dict(os.environ, CRM_EXIT_AFTER_PAINT="1")
    times: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", CODE, DB], env=env, check=True, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
    print(f"start to first painted inbox ({DB}, {RUNS} runs): median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms")


if __name__ == "__main__":
    main()
