"""`plan --format plan-json` against its own JSON Schema, with plans from a real
OVN: every kind of edit, removals, groups, --adopt, --destroy and offline plans."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.emit.plan_json import FORMAT_VERSION, SCHEMA_FILE, plan_json_schema
from compiler.sandbox import Sandbox, build_topology

from .conftest import ROOT, SAMPLES, sample_paths
from .test_plan import EDITS, NAME, load, write


def validator() -> jsonschema.protocols.Validator:
    schema = plan_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


VALIDATOR = validator()


def plan_document(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> dict[str, Any]:
    """The plan-json of ``path``, checked against the schema."""
    capsys.readouterr()
    assert main(["plan", str(path), "--format", "plan-json", *extra]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    VALIDATOR.validate(document)
    return document


def only_change(document: dict[str, Any]) -> dict[str, Any]:
    assert len(document["changes"]) == 1, document["changes"]
    change: dict[str, Any] = document["changes"][0]
    return change


def test_the_schema_is_shipped_and_printed(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = json.loads((ROOT / "compiler" / "emit" / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert main(["schema", "plan-json"]) == 0
    assert json.loads(capsys.readouterr().out) == shipped == plan_json_schema()
    assert main(["schema"]) == 0 and '"version"' in capsys.readouterr().out  # the input's, as before
    assert FORMAT_VERSION == "1.1"
    assert (
        "compiler.emit" in (ROOT / "pyproject.toml").read_text() and '"*.json"' in (ROOT / "pyproject.toml").read_text()
    )


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_a_first_plan_of_every_sample_is_all_adds(
    ovn: Sandbox, sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compilation = compile_files([str(sample)])
    build_topology(ovn, compilation.document)
    document = plan_document(capsys, sample, "--db", ovn.nb_remote)
    assert document["format_version"] == FORMAT_VERSION
    assert document["inputs"] == [str(sample)] and document["against"] == ovn.nb_remote
    assert {change["action"] for change in document["changes"]} == {"add"}
    rows = [change for change in document["changes"] if change["kind"] == "load_balancer"]
    assert [row["name"] for row in rows] == [row.name for row in compilation.changes.rows]
    for change, row in zip(rows, compilation.changes.rows, strict=True):
        assert change["source"] == {"file": row.source.file, "line": row.source.line, "column": row.source.column}
        assert change["columns"]["vips"]["added"] == dict(row.vips)
        assert change["columns"]["protocol"] == {"before": None, "after": row.protocol}
        assert [check["vip"] for check in change["health_checks"]] == [check.vip for check in row.health_checks]
    summary = document["summary"]
    assert summary == {
        "add": len(document["changes"]),
        "change": 0,
        "remove": 0,
        "unchanged": 0,
        "unchanged_nat_rows": 0,
    }
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    after = plan_document(capsys, sample, "--db", ovn.nb_remote)
    assert after["changes"] == [] and after["summary"]["unchanged"] == len(compilation.changes.rows)


def test_every_kind_of_edit_is_described_within_the_schema(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One database holding the sample, planned against every edit of test_plan's EDITS."""
    original = write(tmp_path / "original.yaml", load("ipv4-healthcheck.yaml"))
    everything = load("ipv4-healthcheck.yaml")
    everything["networks"][0]["attach_switches"] = ["clients"]
    build_topology(ovn, compile_files([str(write(tmp_path / "all.yaml", everything))]).document)
    assert main(["apply", str(original), "--db", ovn.nb_remote]) == 0
    documents = {}
    for edit, (change, _) in sorted(EDITS.items()):
        data = load("ipv4-healthcheck.yaml")
        change(data)
        documents[edit] = plan_document(capsys, write(tmp_path / f"{edit}.yaml", data), "--db", ovn.nb_remote)
        assert documents[edit]["changes"], edit

    row = only_change(documents["backend-port"])
    assert row["action"] == "change" and row["uuid"] and row["network"] == "net49"
    assert row["source"]["file"].endswith("backend-port.yaml") and row["source"]["line"] > 0
    assert row["columns"] == {
        "vips": {
            "added": {},
            "changed": {
                "10.171.5.10:80": {
                    "before": "10.135.209.2:8080,10.135.209.3:8080,10.135.209.4:8080",
                    "after": "10.135.209.2:8081,10.135.209.3:8080,10.135.209.4:8080",
                }
            },
            "removed": {},
        }
    }
    check = only_change(documents["health-check-interval"])["health_checks"][0]
    assert check["action"] == "change" and check["uuid"]
    assert check["columns"]["options"]["changed"] == {"interval": {"before": "5", "after": "7"}}
    ids = only_change(documents["user-keys"])["columns"]["external_ids"]
    assert ids["added"] == {"ovn-lbc:user.ticket": "OPS-7"}
    assert ids["changed"] == {"ovn-lbc:user.team": {"before": "infra", "after": "ops"}}
    fields = only_change(documents["selection-fields"])["columns"]["selection_fields"]
    assert fields == {"before": [], "after": ["ip_src", "tp_src"]}
    attach = only_change(documents["attach-switch"])
    assert attach["columns"] == {} and [d["name"] for d in attach["attach"]] == ["clients"]
    assert attach["attach"][0]["uuid"]

    removed = only_change(documents["remove-every-port"])
    assert removed["action"] == "remove" and removed["source"] is None and removed["name"] == NAME
    assert removed["columns"]["protocol"] == {"before": "tcp", "after": None}
    assert list(removed["columns"]["vips"]["removed"]) == ["10.171.5.10:80"]
    assert len(removed["columns"]["health_check"]["before"]) == 1
    # The forward's default target is a NAT row, as Incus writes it: no Load_Balancer row.
    replaced = documents["replace-load-balancer-by-forward"]
    assert [(c["kind"], c["action"]) for c in replaced["changes"]] == [("load_balancer", "remove"), ("nat", "add")]
    nat = replaced["changes"][1]
    assert (nat["router"], nat["type"], nat["external_ip"], nat["uuid"]) == (
        "incus-net49-lr",
        "dnat",
        "10.171.5.20",
        None,
    )
    assert nat["columns"]["logical_ip"] == {"before": None, "after": "10.135.209.9"}
    assert nat["columns"]["options"]["added"] == {"stateless": "false"}
    assert nat["source"]["line"] > 0
    assert replaced["summary"] == {"add": 1, "change": 0, "remove": 1, "unchanged": 0, "unchanged_nat_rows": 0}

    group = next(c for c in documents["lb-group"]["changes"] if c["kind"] == "group")
    assert group["action"] == "add" and group["networks"] == ["net49"] and group["owned"]
    assert group["mark"] == {"action": "add", "key": "ovn-lbc:group:web-group", "value": group["uuid"]}
    assert group["members"] == {"added": [{"name": NAME, "uuid": only_uuid(documents["lb-group"])}], "removed": []}
    assert {d["name"] for d in group["attach"]} == {"incus-net49-lr", "incus-net49-ls-int"}
    detached = next(c for c in documents["lb-group"]["changes"] if c["kind"] == "load_balancer")
    assert {d["name"] for d in detached["detach"]} == {"incus-net49-lr", "incus-net49-ls-int"}


def only_uuid(document: dict[str, Any]) -> str:
    uuids = [c["uuid"] for c in document["changes"] if c["kind"] == "load_balancer"]
    assert len(uuids) == 1
    uuid: str = uuids[0]
    return uuid


def test_destroy_adopt_and_offline_plans_are_described_within_the_schema(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "options-and-group.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    destroy = plan_document(capsys, sample, "--db", ovn.nb_remote, "--destroy")
    assert destroy["destroy"] is True
    assert [(c["kind"], c["action"]) for c in destroy["changes"]] == [
        ("load_balancer", "remove"),
        ("load_balancer", "remove"),
        ("group", "remove"),
    ]
    group = destroy["changes"][-1]
    assert group["networks"] == [] and group["source"] is None and group["mark"]["action"] == "remove"
    assert {d["name"] for d in group["detach"]} == {"incus-net50-lr", "incus-net50-ls-int", "clients-a", "clients-b"}

    # Offline, from a dump: the same description, but for where it was read.
    dump = tmp_path / "nb.dump"
    with dump.open("w") as handle:
        subprocess.run(
            ["ovsdb-client", "dump", "--format=json", ovn.nb_remote, "OVN_Northbound"],
            env=ovn.env,
            stdout=handle,
            check=True,
        )
    offline = plan_document(capsys, sample, "--from-dump", str(dump), "--destroy")
    assert offline["against"] == str(dump)
    assert {**offline, "against": ovn.nb_remote} == destroy

    # --adopt: the row ovn-lbc takes over says whose it was.
    ovn.nbctl("lb-add", NAME, "10.171.5.10:80", "10.135.209.2:8080")
    ipv4 = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(ipv4)]).document)
    adopted = plan_document(capsys, ipv4, "--db", ovn.nb_remote, "--adopt")
    row = only_change(adopted)
    assert row["action"] == "change" and row["adopted_from"] == "not made by ovn-lbc"
    assert row["columns"]["external_ids"]["added"]["ovn-lbc:network"] == "net49"
    assert "name" not in row["columns"]  # found by its name: not renamed

    # --adopt of a nameless row: renamed in place, the name's before and after (format 1.1).
    ovn.nbctl("destroy", "Load_Balancer", NAME)
    uuid = ovn.nbctl("create", "Load_Balancer", 'vips:"10.171.5.10:80"="10.135.209.2:8080"', "protocol=tcp").strip()
    row = only_change(plan_document(capsys, ipv4, "--db", ovn.nb_remote, "--adopt"))
    assert (row["action"], row["uuid"], row["adopted_from"]) == ("change", uuid, "not made by ovn-lbc")
    assert row["columns"]["name"] == {"before": "", "after": NAME}


def test_any_string_round_trips_exactly(ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Values are the database's strings, whatever their bytes: JSON escapes what it must."""
    hostile = 'quote " backslash \\ newline \n tab \t escape \x1b nul-free \u2028 caf\u00e9 \U0001f600 </script>'
    data = load("ipv4-healthcheck.yaml")
    data["networks"][0]["load_balancers"][0]["description"] = hostile
    path = write(tmp_path / "hostile.yaml", data)
    build_topology(ovn, compile_files([str(path)]).document)
    ids = only_change(plan_document(capsys, path, "--db", ovn.nb_remote))["columns"]["external_ids"]
    assert ids["added"]["ovn-lbc:description"] == hostile
    assert main(["plan", str(path), "--db", ovn.nb_remote, "--format", "plan-json", "--pretty"]) == 0
    pretty = capsys.readouterr().out
    assert pretty.startswith('{\n  "format_version": "1.1",\n') and json.loads(pretty)["changes"]
