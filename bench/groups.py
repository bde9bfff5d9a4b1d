"""Many clients' switches: each row attached to each switch, or one Load_Balancer_Group.

    python bench/groups.py [N] [--switches S] [--rounds R]   (default 250 load balancers, 40 switches, 3 rounds)

The same N health-checked load balancers must take effect on their network's
router and switch plus S clients' switches (``attach_switches``). Written two
ways: every row attached to every datapath, or the rows in one group attached
to every datapath (``lb_group``). For each, in a fresh OVN with ovn-northd
(temp dir), it measures:

- apply: the wall time of ``ovn-lbc apply --wait=sb``, so it includes
  ovn-northd computing the flows of the new configuration;
- recompute: the wall time of a forced full recompute of ovn-northd
  (``inc-engine/recompute``) followed by ``ovn-nbctl --wait=sb sync``;
- references: load balancer and group references the datapaths hold;
- NB file: the size of the Northbound database file after the apply.

The two ways run in turn within each round, so the machine's noise falls on
both alike; the table reports medians and the group's ratio to direct
attachment. Results go to bench/GROUPS.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import document  # noqa: E402
from compiler import compile_files  # noqa: E402
from compiler.sandbox import Sandbox, build_topology  # noqa: E402


def variant(base: dict[str, Any], switches: int, group: bool) -> dict[str, Any]:
    data = copy.deepcopy(base)
    for index, network in enumerate(data["networks"]):
        network["attach_switches"] = [f"clients-{index}-{s}" for s in range(switches)]
        if group:
            network["lb_group"] = f"{network['name']}-lbs"
    return data


def references(sandbox: Sandbox) -> int:
    total = 0
    for table in ("Logical_Switch", "Logical_Router"):
        for column in ("load_balancer", "load_balancer_group"):
            out = sandbox.nbctl("--bare", f"--columns={column}", "list", table)
            total += len(out.split())
    return total


def measure(path: Path) -> dict[str, float]:
    compilation = compile_files([str(path)])
    with Sandbox() as sandbox:
        build_topology(sandbox, compilation.document)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "compiler", "apply", str(path), "--db", sandbox.nb_remote, "--wait=sb"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        apply_seconds = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(
            ["ovn-appctl", "-t", str(sandbox.directory / "northd.ctl"), "inc-engine/recompute"],
            check=True,
            capture_output=True,
            env=sandbox.env,
        )
        sandbox.sync()
        recompute_seconds = time.perf_counter() - started
        return {
            "apply": apply_seconds,
            "recompute": recompute_seconds,
            "references": references(sandbox),
            "nb_bytes": (sandbox.directory / "nb.db").stat().st_size,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", nargs="?", type=int, default=250)
    parser.add_argument("--switches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"direct": [], "group": []}
    with tempfile.TemporaryDirectory(prefix="ovn-lbc-bench-") as tmp:
        base = document(args.size)
        paths = {}
        for kind in results:
            paths[kind] = Path(tmp, f"{kind}.json")
            paths[kind].write_text(json.dumps(variant(base, args.switches, kind == "group")))
        for round_number in range(1, args.rounds + 1):
            for kind, path in paths.items():
                results[kind].append(measure(path))
                print(f"round {round_number} {kind}: {results[kind][-1]}", file=sys.stderr)
    medians = {
        kind: {key: statistics.median(r[key] for r in rows) for key in rows[0]} for kind, rows in results.items()
    }
    direct, group = medians["direct"], medians["group"]
    lines = [
        "# Many clients' switches: direct attachment or one Load_Balancer_Group",
        "",
        f"Made by `python bench/groups.py {args.size} --switches {args.switches} --rounds {args.rounds}`: "
        f"{args.size} health-checked load balancers, each to take effect on its network's router and switch "
        f"and {args.switches} clients' switches. Medians of {args.rounds} rounds; the two ways alternate in "
        "each round. Machine: "
        f"{platform.node()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"OVN {_ovn_version()}.",
        "",
        "| | direct attachment | one group | group / direct |",
        "|---|---:|---:|---:|",
        f"| apply --wait=sb (s) | {direct['apply']:.2f} | {group['apply']:.2f} | "
        f"{group['apply'] / direct['apply']:.2f}x |",
        f"| northd full recompute + sync (s) | {direct['recompute']:.2f} | {group['recompute']:.2f} | "
        f"{group['recompute'] / direct['recompute']:.2f}x |",
        f"| references held by datapaths | {direct['references']:.0f} | {group['references']:.0f} | "
        f"{group['references'] / direct['references']:.3f}x |",
        f"| NB database file (bytes) | {direct['nb_bytes']:.0f} | {group['nb_bytes']:.0f} | "
        f"{group['nb_bytes'] / direct['nb_bytes']:.2f}x |",
        "",
        "Every round: "
        + "; ".join(
            f"{kind} " + ", ".join(f"{r['apply']:.2f}/{r['recompute']:.2f} s" for r in rows)
            for kind, rows in results.items()
        )
        + " (apply/recompute).",
        "",
    ]
    (ROOT / "bench" / "GROUPS.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _ovn_version() -> str:
    out = subprocess.run(["ovn-northd", "--version"], capture_output=True, text=True, check=False).stdout
    first = out.splitlines()[0].split() if out else []
    return first[-1] if first else "?"


if __name__ == "__main__":
    main()
