"""The short commands against the interpreter's floor: `python -c "import click"`.

    python bench/short_commands.py [--runs 9]

One workspace with one declared incident; each round runs every command once as a new
process (the same interpreter as this script, running the installed ``incident`` console
script: no version manager's shim in front), interleaved with the yardstick,
so the machine's load falls on all alike. Prints the median wall time of each and its ratio
to the yardstick's median (the goal: at most 1.5). The playbook cache and the snapshots are
warmed by one untimed round first, as a person's second command would find them. The
package's modules are compiled to bytecode first (``compileall``), as an installed package's
are (pip compiles on install): without it, a checkout run with PYTHONDONTWRITEBYTECODE set
compiles every module of incident-kit from source on every command. A benchmark, not a
test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DECLARE = [
    "declare",
    "--functionality",
    "logging in",
    "--state",
    "broken",
    "--audience",
    "all users",
    "--severity",
    "SEV1",
    "--manager",
    "Priya Shah",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    import compileall

    import incident_kit

    compileall.compile_dir(Path(incident_kit.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "ws"
        env = {
            **os.environ,
            "INCIDENT_USER": "Bench",
            "INCIDENT_CACHE": str(root / "cache"),
            "INCIDENT_WORKSPACE": str(ws),
        }
        env.pop("INCIDENT_DATABASE_URL", None)

        # The console script pip installed beside this interpreter (what `incident` runs,
        # without a version manager's shim in front), else `python -m incident_kit`.
        script = Path(sys.executable).parent / "incident"
        run = [str(script)] if script.is_file() else ["-m", "incident_kit"]

        def incident(*argv: str) -> list[str]:
            return [sys.executable, *run, *argv]

        subprocess.run(incident("init", str(ws)), check=True, env=env, capture_output=True)
        subprocess.run(incident(*DECLARE), check=True, env=env, capture_output=True)
        commands: dict[str, list[str]] = {
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "incident --help": incident("--help"),
            "incident note": incident("note", "checked", "the", "dashboard"),
            "incident milestone": incident("milestone", "Cause", "identified"),
            "incident check": incident("check", "declaration.pin-summary"),
            "incident check --undo": incident("check", "--undo", "declaration.pin-summary"),
            "incident status": incident("status"),
            "incident list": incident("list"),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.runs + 1):
            for name, argv in commands.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                done = subprocess.run(argv, env=env, cwd=ws, capture_output=True)
                took = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed: {done.stderr.decode()}")
                if round_:  # the first round warms the caches
                    times[name].append(took)
                    cpu[name].append(
                        after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                    )
        yardstick = 'python -c "import click"'
        floor = statistics.median(times[yardstick])
        cpu_floor = statistics.median(cpu[yardstick])
        print(
            f"{'command':<28} {'wall s':>7} {'ratio':>6} {'CPU s':>7} {'ratio':>6}  (goal <= 1.5)"
        )
        for name, got in times.items():
            median, used = statistics.median(got), statistics.median(cpu[name])
            print(
                f"{name:<28} {median:>7.3f} {median / floor:>6.2f} {used:>7.3f} "
                f"{used / cpu_floor:>6.2f}"
            )
        for line in _startup_code():
            print(line)
        print(
            f"medians of {args.runs} interleaved runs each, {sys.executable} {' '.join(run)}; "
            "CPU is user + "
            "system time (a write waits on the disk besides: the store's commit and checkpoint "
            "are synced)"
        )


def _startup_code() -> list[str]:
    """The .pth files of this interpreter that run code at every start (both sides pay it,
    which flatters the ratios: a sandbox's certificate hook that imports certifi costs
    ~14 ms of the yardstick's ~40)."""
    import site

    out = []
    for folder in {*site.getsitepackages(), site.getusersitepackages()}:
        for pth in sorted(Path(folder).glob("*.pth")):
            try:
                lines = pth.read_text(errors="replace").splitlines()
            except OSError:
                continue
            if any(line.startswith(("import ", "import\t")) for line in lines):
                out.append(
                    f"note: {pth} runs code at every interpreter start; move it aside for "
                    "a clean machine's ratios"
                )
    return out


if __name__ == "__main__":
    main()
