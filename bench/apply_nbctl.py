"""Time the compiled ovn-nbctl script against a throwaway OVN (no northd).

    python bench/apply_nbctl.py FILE   ->  compile seconds, apply seconds, transactions
"""

from __future__ import annotations

import sys
import time

from compiler import compile_files
from compiler.emit.nbctl import emit_nbctl
from compiler.sandbox import Sandbox, build_topology


def main(path: str) -> None:
    start = time.perf_counter()
    compilation = compile_files([path])
    script = emit_nbctl(compilation.changes, [path])
    compiled = time.perf_counter() - start
    with Sandbox(northd=False) as sandbox:
        build_topology(sandbox, compilation.document)
        start = time.perf_counter()
        result = sandbox.run_script(script)
        applied = time.perf_counter() - start
        assert result.returncode == 0, result.stderr
        rows = sandbox.nbctl("--bare", "--columns=_uuid", "list", "Load_Balancer").split()
    transactions = script.count('ovn-nbctl "$@"')
    print(
        f"{path}: {len(compilation.changes.rows)} rows, compile {compiled:.2f} s, "
        f"apply {applied:.2f} s in {transactions} transaction(s), {len(rows)} rows in NB"
    )


if __name__ == "__main__":
    main(sys.argv[1])
