"""What status and doctor read and take at scale.

    python bench/status.py [N]   (default 10,000 load balancers)

N generated load balancers (bench/generate.py: 2 listen ports and 4
backends each) are applied to a fresh OVN with ovn-northd (no datapath: the
monitors have no status yet, which costs the same to read). Then it
measures the Southbound read on its own (rows per table, bytes, seconds),
reading both databases and compiling the file against the Northbound one,
and each of status and doctor on the result, with the peak RSS. The figures
are in docs/status-doctor.md.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import document  # noqa: E402
from compiler import compile_files  # noqa: E402
from compiler.apply import apply_compilation  # noqa: E402
from compiler.compilation import check_files  # noqa: E402
from compiler.health.doctor import diagnose  # noqa: E402
from compiler.health.examine import examine  # noqa: E402
from compiler.health.read import SB_DATABASE, read_southbound  # noqa: E402
from compiler.health.status import backend_statuses  # noqa: E402
from compiler.ovsdb.client import connect  # noqa: E402
from compiler.sandbox import Sandbox, build_topology  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "lbs.json"
        path.write_text(json.dumps(document(count)), encoding="utf-8")
        compilation = compile_files([str(path)])
        with Sandbox() as sandbox:
            build_topology(sandbox, compilation.document)
            apply_compilation(compilation, [str(path)], sandbox.nb_remote, wait="sb", timeout=3600)
            with connect(sandbox.sb_remote, SB_DATABASE) as connection:
                started = time.perf_counter()
                tables = read_southbound(connection)
                southbound = time.perf_counter() - started
            rows = {table: len(found) for table, found in tables.items()}
            size = len(json.dumps(tables))
            checked = check_files([str(path)], against_database=True)
            started = time.perf_counter()
            joined, _ = examine(checked, sandbox.nb_remote, sandbox.sb_remote)
            read = time.perf_counter() - started
            started = time.perf_counter()
            statuses = backend_statuses(joined)
            status = time.perf_counter() - started
            started = time.perf_counter()
            findings = diagnose(joined)
            doctor = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{count} load balancers, {len(statuses)} targets, {len(findings)} findings")
    print(f"Southbound read: {size / 1e6:.1f} MB in {southbound:.2f} s; rows {rows}")
    print(f"both reads, compiled against NB: {read:.1f} s; status {status:.1f} s; doctor {doctor:.1f} s")
    print(f"peak RSS {peak} MB")


if __name__ == "__main__":
    main()
