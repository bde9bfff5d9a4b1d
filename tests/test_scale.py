"""50,000 load balancers go to a real NB database in one transaction.

Slow (about a minute here): it is the scale the issue promises, so it runs in
every CI run. Speed itself is measured in bench/, not asserted here.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology

from .conftest import ROOT, require_ovn
from .helpers import transact

SIZE = 50_000


def generated_document(size: int) -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.document(size)


def test_fifty_thousand_load_balancers_apply_in_one_transaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_ovn()
    path = tmp_path / "lbs.json"
    path.write_text(json.dumps(generated_document(SIZE)), encoding="utf-8")
    document = compile_files([str(path)]).document
    # No northd: computing flows for 50,000 load balancers is not what is tested.
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, document)
        assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
        assert f"Plan: {SIZE} to add, 0 to change, 0 to remove. Applied in one transaction" in capsys.readouterr().err
        select = {"op": "select", "table": "Load_Balancer", "where": [], "columns": ["name", "health_check"]}
        rows = transact(ovn, json.dumps(["OVN_Northbound", select]))[0]["rows"]
        assert len(rows) == SIZE
        assert len({row["name"] for row in rows}) == SIZE
        # Two VIPs each, so two health checks each, all referenced.
        assert all(len(row["health_check"][1]) == 2 for row in rows)
        attached = {"op": "select", "table": "Logical_Router", "where": [], "columns": ["load_balancer"]}
        routers = transact(ovn, json.dumps(["OVN_Northbound", attached]))[0]["rows"]
        assert sum(len(router["load_balancer"][1]) for router in routers) == SIZE
        # Applying the same file again reads all of it back and finds nothing to do.
        assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
        assert "no changes; nothing sent" in capsys.readouterr().err
