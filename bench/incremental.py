"""Incremental apply at scale: a full apply, a re-apply with nothing to do
(the first, which compiles and reads the database, then the next, which the
memo of unchanged runs ends after reading the rows' versions:
compiler/unchanged.py), and one backend changed among N load balancers, side
by side.

    python bench/incremental.py [N] [--rounds R]     (default 10000, 3 rounds)

Every figure is the wall time of a whole `ovn-lbc apply` process (read the
file, plan against the database, send, check), started through
measure_child.py, against a real ovsdb-server in a temp dir (no ovn-northd:
its flow computation is not what is measured). The three kinds run in turn
within each round, so the machine's noise falls on all of them alike; the
table reports medians and each kind's ratio to the full apply. It also counts
the operations of the incremental transaction (not counting comment and wait).
Results go to bench/INCREMENTAL.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bytecode import compile_package  # noqa: E402
from bench.generate import document  # noqa: E402
from compiler import compile_files  # noqa: E402
from compiler.sandbox import Sandbox, build_topology  # noqa: E402


def timed(*args: str) -> float:
    """Wall seconds of ``ovn-lbc ARGS`` in a fresh process; fail loudly on a non-zero exit."""
    command = [sys.executable, str(ROOT / "bench" / "measure_child.py"), sys.executable, "-m", "compiler", *args]
    result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    if result["status"] != 0:
        raise SystemExit(f"ovn-lbc {' '.join(args[:2])} failed: {result['stderr']}")
    seconds: float = result["seconds"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", nargs="?", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory(prefix="ovn-lbc-bench-") as tmp:
        # The memo of unchanged runs (compiler.unchanged) of this run only, never the user's.
        os.environ["OVN_LBC_CACHE"] = str(Path(tmp, "cache"))
        base = document(args.size)
        full = Path(tmp, "full.json")
        full.write_text(json.dumps(base))
        # One backend of one load balancer in the middle gets another target port.
        middle = base["networks"][len(base["networks"]) // 2]["load_balancers"][0]
        middle["backends"][0]["target_port"] = "8081"
        edited = Path(tmp, "edited.json")
        edited.write_text(json.dumps(base))
        times: dict[str, list[float]] = {
            "full apply": [],
            "re-apply, no changes": [],
            "re-apply again (remembered)": [],
            "one backend changed": [],
        }
        with Sandbox(str(Path(tmp, "ovn")), northd=False) as ovn:
            build_topology(ovn, compile_files([str(full)]).document)
            db = ["--db", ovn.nb_remote]
            for round_number in range(1, args.rounds + 1):
                timed("destroy", str(edited), *db)  # an empty start for the full apply (not timed)
                times["full apply"].append(timed("apply", str(full), *db))
                times["re-apply, no changes"].append(timed("apply", str(full), *db))
                # The first re-apply compiled, read and planned nothing: the memo has it now.
                times["re-apply again (remembered)"].append(timed("apply", str(full), *db))
                if round_number == 1:
                    plan = subprocess.run(
                        [sys.executable, "-m", "compiler", "plan", str(edited), *db, "--format", "json"],
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=ROOT,
                    ).stdout
                    params = json.loads(plan)
                    writes = Counter(op["op"] for op in params[1:] if op["op"] not in ("comment", "wait"))
                    guards = sum(1 for op in params[1:] if op["op"] == "wait")
                times["one backend changed"].append(timed("apply", str(edited), *db))
                print(f"round {round_number}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    full_median = statistics.median(times["full apply"])
    lines = [
        f"# Incremental apply, {args.size:,} load balancers",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{subprocess.run(['ovsdb-server', '--version'], capture_output=True, text=True).stdout.splitlines()[0]}.",
        f"Median of {args.rounds} rounds; each round runs the three in turn. Wall time of a whole "
        "`ovn-lbc apply` process (compile, read the database, plan, send).",
        "",
        "| apply | median s | all runs s | ratio to full |",
        "|---|---:|---:|---:|",
    ]
    for kind, values in times.items():
        lines.append(
            f"| {kind} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} "
            f"| {statistics.median(values) / full_median:.2f} |"
        )
    lines += [
        "",
        f"The one-backend transaction: {sum(writes.values())} write operation(s) "
        f"({', '.join(f'{n} {op}' for op, n in sorted(writes.items()))}) and {guards} guard(s).",
        "",
    ]
    (ROOT / "bench" / "INCREMENTAL.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
