"""Cold start of `gazette --help` beside the floor `python -c "import typer, rich"`, in one run.

    .venv/bin/python benchmarks/cli_startup.py [--runs 21] [--json]

Runs alternate between the two commands so that both see the same machine state. The figure
goes into docs/benchmarks.md; the goal is a median at most 2.5 times the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL = 2.5


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (default 21)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args()

    commands = {
        "gazette --help": [str(BIN / "gazette"), "--help"],
        'python -c "import typer, rich"': [sys.executable, "-c", "import typer, rich"],
        "gazette --version": [str(BIN / "gazette"), "--version"],
    }
    for command in commands.values():  # warm the page cache; not counted
        timed(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            samples[name].append(timed(command))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor = medians['python -c "import typer, rich"']
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": args.runs,
        "median_ms": {name: round(value * 1000, 1) for name, value in medians.items()},
        "min_ms": {name: round(min(values) * 1000, 1) for name, values in samples.items()},
        "ratio_to_floor": {name: round(value / floor, 2) for name, value in medians.items()},
        "goal_ratio": GOAL,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['date']} · {result['machine']} · {args.runs} runs each, alternating\n")
    print("| command | median (ms) | min (ms) | × floor |")
    print("|---|---:|---:|---:|")
    for name in commands:
        print(
            f"| `{name}` | {result['median_ms'][name]} | {result['min_ms'][name]} | {result['ratio_to_floor'][name]} |"
        )
    verdict = "meets" if medians["gazette --help"] <= GOAL * floor else "MISSES"
    print(f"\n`gazette --help` {verdict} the goal of ≤ {GOAL}× the floor.")


if __name__ == "__main__":
    main()
