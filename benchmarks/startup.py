"""Start-up figures: what the bot's modules load and the top offenders (`python -X importtime`), each
`*_generate` / `*_train --help`, TensorFlow through the model layer, and the model worker's time to "ready".

Prints figures; asserts nothing. Each figure is a fresh process. `--root` times another checkout (an export of
an older main, say) with this machine's virtualenv, for a before/after on the same machine and load.

    python benchmarks/startup.py [--repeats 3] [--worker_repeats 2] [--root PATH] [--no_worker]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOT_MODULES = ("bot", "bot.service", "bot.web.app", "bot.adapters.discord_bot", "bot.adapters.slack_bot")
HEAVY = ("tensorflow", "keras", "note_seq", "pandas", "sklearn", "scipy", "IPython", "pretty_midi", "numpy")
# Prints, as the last line of stderr, the heavy modules the command loaded, then leaves as the command did.
PROBE = """
import json, runpy, sys
sys.argv = {argv!r}
try:
    runpy.run_module({module!r}, run_name="__main__")
finally:
    print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)
"""


def run(root: Path, args: list[str], stdin: str | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, text=True, input=stdin,
                          timeout=600)
    return time.perf_counter() - start, done


def loaded(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    return json.loads(lines[-1]) if lines else []


def importtime_offenders(root: Path, code: str, top: int) -> tuple[float, list[tuple[str, float]]]:
    """Total import time and the top-level packages that cost the most (their modules' own times summed)."""
    _, done = run(root, ["-X", "importtime", "-c", code])
    own: collections.Counter[str] = collections.Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        self_us, _, name = line[len("import time:"):].split("|")
        if self_us.strip().isdigit():
            own[name.strip().split(".")[0]] += int(self_us)
    return sum(own.values()) / 1e6, [(name, us / 1e6) for name, us in own.most_common(top)]


def commands(root: Path) -> list[str]:
    cli = root / "generation" / "cli"
    return sorted(p.stem for p in [*cli.glob("*_generate.py"), *cli.glob("*_train.py")])


def worker_ready(root: Path) -> tuple[float, str]:
    """Seconds from starting `python -m generation.worker` (the chat's default models) to its first line."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "generation.worker"], cwd=root, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline().strip()
    seconds = time.perf_counter() - start
    proc.stdin.close()
    proc.wait(timeout=60)
    return seconds, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to time (default: this one)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per --help (min and median printed)")
    parser.add_argument("--worker_repeats", type=int, default=2)
    parser.add_argument("--no_worker", action="store_true", help="skip the worker (it loads every chat model)")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    root = args.root.resolve()
    print(f"checkout {root}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")

    code = "import " + ", ".join(BOT_MODULES)
    total, top = importtime_offenders(root, code, args.top)
    _, done = run(root, ["-c", f"{code}; import sys, json; print(json.dumps([m for m in {HEAVY!r} "
                                "if m in sys.modules]))"])
    print(f"\n`{code}`: {total:.2f} s of imports; heavy modules loaded: "
          f"{', '.join(json.loads(done.stdout or '[]')) or 'none'}")
    print("  top offenders (own import time per top-level package): "
          + ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in top))

    print(f"\n--help, {args.repeats} runs each (a fresh `python -m generation.cli.<command> --help`):")
    for command in commands(root):
        module = f"generation.cli.{command}"
        times, heavy, rc = [], [], 0
        for _ in range(args.repeats):
            seconds, done = run(root, ["-c", PROBE.format(argv=[command, "--help"], module=module, heavy=HEAVY)])
            times.append(seconds)
            heavy, rc = loaded(done.stderr), done.returncode
        print(f"  {command:30s} min {min(times):.2f} s, median {statistics.median(times):.2f} s, exit {rc}; "
              f"loaded: {', '.join(heavy) or 'none'}")

    model_layer = ("generation.engine.tf_runtime" if (root / "generation/engine/tf_runtime.py").exists()
                   else "generation.engine.rnn")
    for code in ("import tensorflow", f"import {model_layer}"):
        times, heavy = [], []
        for _ in range(args.repeats):
            seconds, done = run(root, ["-c", f"{code}; import sys, json; "
                                             f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"])
            times.append(seconds)
            heavy = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"\n`{code}`: min {min(times):.2f} s, median {statistics.median(times):.2f} s (whole process); "
              f"loaded: {', '.join(heavy)}")
    total, top = importtime_offenders(root, f"import {model_layer}", args.top)
    print(f"  top offenders: {', '.join(f'{name} {s * 1000:.0f} ms' for name, s in top)}")

    if not args.no_worker:
        print(f"\n`python -m generation.worker` to its first line, {args.worker_repeats} runs:")
        for _ in range(args.worker_repeats):
            seconds, line = worker_ready(root)
            print(f"  {seconds:.2f} s  {line}  (load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
