"""Time `ovn-lbc apply` (compile included) against a throwaway NB ovsdb-server.

    PYTHONPATH=. python bench/apply_json.py FILE
"""

from __future__ import annotations

import resource
import sys
import time

from compiler import compile_files
from compiler.ovsdb.apply import apply_changes
from compiler.sandbox import Sandbox, build_topology


def main(path: str) -> None:
    document = compile_files([path]).document
    with Sandbox(northd=False) as sandbox:
        build_topology(sandbox, document)
        start = time.perf_counter()
        compilation = compile_files([path])
        compiled = time.perf_counter() - start
        report = apply_changes(compilation.changes, [path], sandbox.nb_remote)
        total = time.perf_counter() - start
        rows = len(sandbox.nbctl("--bare", "--columns=_uuid", "list", "Load_Balancer").split())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{path}: {report.rows} rows, {report.operations} operations; compile {compiled:.2f} s, "
        f"apply {report.seconds:.2f} s, total {total:.2f} s; {rows} rows in NB; peak RSS {peak:.0f} MB"
    )


if __name__ == "__main__":
    main(sys.argv[1])
