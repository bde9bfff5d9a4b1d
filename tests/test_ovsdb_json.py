"""`compile --format json` through a real `ovsdb-client transact`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import compile_files
from compiler.emit.ovsdb import emit_json
from compiler.lower import group_uuid
from compiler.sandbox import Sandbox, build_topology

from .conftest import SAMPLES, sample_paths
from .helpers import apply_script, dump_table, transact
from .test_ovn import nb_state, without_uuids


def _failed(results: list[object]) -> list[object]:
    return [r for r in results if isinstance(r, dict) and "error" in r]


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_json_gives_exactly_the_rows_of_the_script(ovn: Sandbox, tmp_path: Path, sample: Path) -> None:
    compilation = compile_files([str(sample)])
    build_topology(ovn, compilation.document)
    text = emit_json(compilation.changes, [sample.name])
    assert _failed(transact(ovn, text)) == []
    from_json = without_uuids(nb_state(ovn))

    with Sandbox(str(tmp_path / "script"), northd=False) as other:
        build_topology(other, compilation.document)
        apply_script(other, compilation)
        assert without_uuids(nb_state(other)) == from_json

    # Sent again: the same rows, no duplicates, nothing left dangling.
    checks = len(dump_table(ovn, "Load_Balancer_Health_Check"))
    if compilation.changes.groups:
        # A DB-blind transaction can only insert a group (OVSDB has no
        # "insert unless it exists"). The group's _uuid comes from its name
        # (ovn-lbc's mark of the groups it made), so a second insert is a
        # duplicate: the whole transaction fails and changes nothing.
        failures = _failed(transact(ovn, text))
        assert [f["error"] for f in failures] == ["duplicate uuid"]
        assert group_uuid(compilation.changes.groups[0].name) in text
        assert without_uuids(nb_state(ovn)) == from_json
        return
    if compilation.changes.nats:
        # Nor can it delete a NAT row it has not read (no name to select it
        # by, and its router refers to it): the wait that no dnat row has the
        # forward's address fails the whole transaction, which changes nothing.
        failures = _failed(transact(ovn, text))
        assert failures == [{"error": "timed out", "details": '"where" clause test failed'}]
        assert without_uuids(nb_state(ovn)) == from_json
        return
    assert _failed(transact(ovn, text)) == []
    assert without_uuids(nb_state(ovn)) == from_json
    assert len(dump_table(ovn, "Load_Balancer_Health_Check")) == checks
    for table in ("Logical_Router", "Logical_Switch"):
        for datapath in dump_table(ovn, table):
            refs = datapath["load_balancer"]
            refs = refs if isinstance(refs, list) else [refs]
            assert set(refs) <= {row["uuid"] for row in nb_state(ovn).values()}


def test_json_with_a_missing_router_changes_nothing(ovn: Sandbox) -> None:
    compilation = compile_files([str(SAMPLES / "forward-and-lb.yaml")])
    ovn.nbctl("ls-add", "incus-net49-ls-int")
    results = transact(ovn, emit_json(compilation.changes, ["x"]))
    assert _failed(results) == [{"error": "timed out", "details": '"where" clause test failed'}]
    assert dump_table(ovn, "Load_Balancer") == []


def test_pretty_json_is_the_same_transaction() -> None:
    changes = compile_files([str(SAMPLES / "port-ranges.json")]).changes
    assert json.loads(emit_json(changes, ["x"], pretty=True)) == json.loads(emit_json(changes, ["x"]))


@pytest.mark.parametrize("pretty", [False, True])
@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_the_text_written_piece_by_piece_is_json_dumps_of_the_whole(sample: Path, pretty: bool) -> None:
    """compile and plan --format json write the transaction a piece per operation
    (emit.ovsdb.transaction_json_pieces): the text is exactly the whole one's."""
    from compiler.emit.ovsdb import build_transaction, transaction_json_pieces

    params = build_transaction(compile_files([str(sample)]).changes, [sample.name]).params
    params.append({"comment": "a line\nbreak, \u2028 and é"})
    for whole in (params, [], ["OVN_Northbound"]):
        if pretty:
            expected = json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
        else:
            expected = (
                "[" + ",\n ".join(json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in whole) + "]\n"
            )
        assert "".join(transaction_json_pieces(iter(whole), pretty=pretty)) == expected
