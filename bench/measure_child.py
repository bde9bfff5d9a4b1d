"""Run one command; print its wall seconds and its own peak RSS as JSON.

    python bench/measure_child.py CMD [ARG...]

bench/run.py starts every measured command through this small launcher. A
child started straight from run.py would report run.py's peak too: Linux
carries a process's peak RSS across exec, and a vfork()ed child borrows its
parent's memory until it execs. Started from a fresh, small process, the
command's peak RSS is its own. Standard library only, to stay small.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(args: list[str]) -> None:
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    json.dump({"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "status": status, "stderr": err}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
