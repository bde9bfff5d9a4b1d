"""Small helpers the tests share: compile text, read rows back from OVN."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from compiler import Compilation, CompileError, compile_files
from compiler.emit.nbctl import emit_nbctl
from compiler.sandbox import Sandbox


def compile_text(tmp_path: Path, text: str, name: str = "input.yaml") -> Compilation:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return compile_files([str(path)])


def errors_of(tmp_path: Path, text: str, name: str = "input.yaml") -> list[tuple[str, int, int]]:
    """(code, line, column) of every diagnostic that compiling ``text`` reports."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    try:
        diagnostics = list(compile_files([str(path)]).warnings)
    except CompileError as exc:
        diagnostics = exc.diagnostics
    return [(d.code, d.span.line, d.span.column) for d in diagnostics]


def apply_script(ovn: Sandbox, compilation: Compilation, inputs: list[str] | None = None) -> None:
    result = ovn.run_script(emit_nbctl(compilation.changes, inputs or ["input.yaml"]))
    assert result.returncode == 0, result.stderr


def nb_dump(ovn: Sandbox) -> str:
    """The whole Northbound database as ovsdb-client dumps it: equal dumps, equal databases (UUIDs included)."""
    return subprocess.run(
        ["ovsdb-client", "dump", "--format=json", ovn.nb_remote, "OVN_Northbound"],
        env=ovn.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def dump_table(ovn: Sandbox, table: str, db: str = "nb") -> list[dict[str, Any]]:
    """A table's rows with OVSDB's JSON values decoded to Python (maps -> dict)."""
    remote = ovn.nb_remote if db == "nb" else ovn.sb_remote
    database = "OVN_Northbound" if db == "nb" else "OVN_Southbound"
    out = subprocess.run(
        ["ovsdb-client", "dump", "--format=json", remote, database, table],
        env=ovn.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    rows = []
    for values in data["data"]:
        rows.append({h: _decode(v) for h, v in zip(data["headings"], values, strict=True)})
    return rows


def _decode(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 2 and value[0] == "map":
        return {_decode(k): _decode(v) for k, v in value[1]}
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return [_decode(v) for v in value[1]]
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return value[1]
    return value


def lb_flows(ovn: Sandbox, switch: str) -> list[str]:
    return [line.strip() for line in ovn.sbctl("lflow-list", switch).splitlines() if "ct_lb_mark(backends=" in line]


def transact(ovn: Sandbox, text: str) -> list[Any]:
    """``ovsdb-client transact``; it exits 0 even when an operation failed, so return the results."""
    result = subprocess.run(
        ["ovsdb-client", "transact", ovn.nb_remote, text], env=ovn.env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    results: list[Any] = json.loads(result.stdout)
    return results
