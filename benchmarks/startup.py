"""CLI start-up time with every built-in plugin and the example third-party plugin
installed: `gantk --help` and `gantk plugins`, median wall time of several runs.

Goal: under 0.5 s each. The machine is shared, so a bare `python -c pass` (the floor any
Python CLI pays) is timed interleaved with the commands and reported alongside.

    .venv/bin/python benchmarks/startup.py [--runs 15] [--reference OTHER_PYTHON]

`--reference` also times `gantk --help`/`plugins` under another interpreter (e.g. a
checkout of main's venv), interleaved, so a change can be judged as a ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gantk.testing import PluginEnv

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gantk-plugin-example"
GOAL_S = 0.5


def _time(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+sys) of one run; CPU time is less sensitive to
    other processes competing for the cores than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reference", help="another environment's python to compare with")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = PluginEnv(Path(tmp) / "venv")
        env.install(EXAMPLE)
        listed = json.loads(env.gantk("plugins", "--json", check=True).stdout)
        third_party = [p["package"] for p in listed["plugins"] if not p["builtin"]]
        py = str(env.python)
        cases = {"python -c pass": [py, "-c", "pass"],
                 "gantk --help": [py, "-m", "gantk", "--help"],
                 "gantk plugins": [py, "-m", "gantk", "plugins"]}
        if opts.reference:
            cases["reference --help"] = [opts.reference, "-m", "gantk", "--help"]
            cases["reference plugins"] = [opts.reference, "-m", "gantk", "plugins"]
        for args in cases.values():  # warm the file cache
            _time(args)
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(opts.runs):  # interleaved, so load changes hit every case alike
            for name, args in cases.items():
                wall, used = _time(args)
                times[name].append(wall)
                cpu[name].append(used)
    builtins = sum(p["builtin"] for p in listed["plugins"])
    print(f"{builtins} built-in plugin modules + third-party {third_party}; "
          f"median of {opts.runs} runs: wall (min-max), CPU user+sys")
    floor = statistics.median(times["python -c pass"])
    for name, values in times.items():
        med = statistics.median(values)
        verdict = "" if not name.startswith("gantk") else (
            "  OK" if med < GOAL_S else f"  OVER the {GOAL_S} s goal")
        print(f"  {name:<18} wall {med:.3f} s ({min(values):.3f}-{max(values):.3f}), "
              f"{med / floor:.1f}x bare python; CPU {statistics.median(cpu[name]):.3f} s"
              f"{verdict}")
    sys.exit(0 if all(statistics.median(times[n]) < GOAL_S
                      for n in cases if n.startswith("gantk")) else 1)


if __name__ == "__main__":
    main()
