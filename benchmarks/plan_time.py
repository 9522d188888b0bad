"""Wall time of `python -m suite plan` for every table, and whether it imports torch (not a test: speed
is measured here, never asserted). Issue #8's target: each `plan` under 1 s on a 2-core machine.

    .venv/bin/python benchmarks/plan_time.py [--tables 1 2 ... 9] [--profile demo] [--repeats 3]

Each plan is a fresh process, as a user runs it (interpreter start-up, imports, planning, printing),
in an empty work directory. A table whose tasks are not built is refused (exit status 1, "not built"):
its time is that of the refusal. Then `python -X importtime -m suite plan --table 4` tells whether any
torch or torchvision module was imported, and the slowest imports.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parents[1]
TORCH = ("torch", "torchvision")


def plan_command(table: int, profile: str, workdir: Path, *flags: str) -> list[str]:
    arguments = ["plan", "--table", str(table), "--profile", profile, "--workdir", str(workdir)]
    return [sys.executable, *flags, "-m", "suite", *arguments]


def time_plan(table: int, profile: str, repeats: int, workdir: Path) -> tuple[list[float], str]:
    """(wall seconds of each run, what it did: "planned N runs" or the refusal's first line)."""
    times, outcome = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(
            plan_command(table, profile, workdir), cwd=ROOT, capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - start)
        if result.returncode == 0:
            runs = next((line for line in result.stdout.splitlines() if " runs: " in line), "")
            outcome = "planned " + runs.split(":")[0]
        else:
            lines = (result.stderr or result.stdout).strip().splitlines()
            outcome = f"refused (exit {result.returncode}): " + (lines[0] if lines else "")
    return times, outcome


def imports(table: int, profile: str, workdir: Path) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of each top-level import of `plan`, slowest first."""
    result = subprocess.run(
        plan_command(table, profile, workdir, "-X", "importtime"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    found = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit():
            found.append((int(cumulative), name.rstrip()))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, nargs="+", default=list(range(1, 10)))
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--repeats", type=int, default=3, help="runs per table; the median is shown")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for table in args.tables:
            times, outcome = time_plan(table, args.profile, args.repeats, Path(folder) / f"work{table}")
            rows.append((table, f"{statistics.median(times):.2f}", f"{max(times):.2f}", outcome[:90]))
        found = imports(4, args.profile, Path(folder) / "work4")
    command = f"python -m suite plan --table N --profile {args.profile}"
    print(f"`{command}`: wall time of {args.repeats} fresh processes per table")
    print(tabulate(rows, headers=("table", "median s", "max s", "outcome"), tablefmt="github"))
    names = {name.strip() for _, name in found}
    loaded = sorted(names & set(TORCH))
    print()
    print(f"torch imported by `plan --table 4`: {'yes (' + ', '.join(loaded) + ')' if loaded else 'no'}")
    top = sorted((entry for entry in found if not entry[1].startswith("  ")), reverse=True)[:8]
    print("slowest top-level imports: " + ", ".join(f"{name.strip()} {us / 1e3:.0f} ms" for us, name in top))


if __name__ == "__main__":
    main()
