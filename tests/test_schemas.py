"""Every supported OVN Northbound schema, loaded into a real ovsdb-server.

ovn-lbc claims to write for OVN 23.03 to 26.03. This proves it against each
release's own NB schema (../shared/ovn-schemas), not just the one OVN
installed on the machine:

- every sample, compiled for that release, is accepted by that release's
  server, both through ``apply`` (planned, guarded) and as the DB-blind
  transaction of ``compile --format json``; what lands in the database is
  what the compiler meant, and a second apply has nothing left to do;
- a feature newer than a release (``selection_fields`` ``ipv6_src``/
  ``ipv6_dst``, 25.03) is refused at compile time (E319) for the older
  releases, whose servers really do reject it (constraint violation), and is
  written fine from 25.03 on;
- compiler.ovn_versions.release_of_schema agrees with the schema files.

No ovn-northd: only ovsdb-server judges the rows here; what northd makes of
them is test_ovn's business.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler import Compilation, compile_files
from compiler.apply import apply_compilation
from compiler.diagnostics import CompileError
from compiler.emit.ovsdb import emit_json
from compiler.ir import Document
from compiler.ovn_versions import SCHEMA_RELEASES, OvnVersion, release_of_schema
from compiler.sandbox import Sandbox

from .conftest import SAMPLES, require_ovn, sample_paths
from .helpers import dump_table, transact

# One schema per release ovn-lbc supports: 23.03, 24.03, 24.09, 25.03, 25.09, 26.03.
EXPECTED_SCHEMAS = len(SCHEMA_RELEASES)

SCHEMA_NAME = re.compile(r"ovn-nb-([0-9]+)\.([0-9]+)\.([0-9]+)\.ovsschema")

# The first release whose schema lets selection_fields hold ipv6_src/ipv6_dst.
IPV6_SELECTION_FIELDS = OvnVersion(25, 3)


def in_ci() -> bool:
    # As tests/conftest.py reads it: a CI run must not pass by skipping.
    return os.environ.get("CI", "").lower() == "true"


def schema_directory() -> Path | None:
    """$OVN_LBC_SCHEMA_DIR, else ../shared/ovn-schemas beside the project, else /work/shared/ovn-schemas."""
    candidates = [
        os.environ.get("OVN_LBC_SCHEMA_DIR"),
        Path(__file__).resolve().parents[2] / "shared" / "ovn-schemas",
        "/work/shared/ovn-schemas",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def release_of_file(path: Path) -> OvnVersion:
    """ovn-nb-X.Y.Z.ovsschema -> OvnVersion(X, Y, Z)."""
    match = SCHEMA_NAME.fullmatch(path.name)
    assert match is not None, f"{path.name} is not named ovn-nb-X.Y.Z.ovsschema"
    return OvnVersion(*(int(part) for part in match.groups()))


def schema_files() -> list[Path]:
    directory = schema_directory()
    if directory is None:
        return []
    return sorted(directory.glob("ovn-nb-*.ovsschema"), key=release_of_file)


def schema_params() -> list[Any]:
    """One parameter per schema file, its id the release ("23.03"). With no
    schemas, one placeholder, so the test runs and fails (CI) or skips."""
    found = schema_files()
    if not found:
        return [pytest.param(None, id="no-schemas")]
    return [pytest.param(path, id=str(release_of_file(path))) for path in found]


def need(schema: Path | None) -> Path:
    """The schema, or fail (CI) or skip when there is no schema directory."""
    if schema is not None:
        return schema
    message = (
        "no OVN NB schema directory: set OVN_LBC_SCHEMA_DIR, or put the schemas in ../shared/ovn-schemas"
        " or /work/shared/ovn-schemas"
    )
    if in_ci():
        pytest.fail(message + "; CI=true forbids skipping", pytrace=False)
    pytest.skip(message)


def compile_target(release: OvnVersion) -> OvnVersion:
    """The release to compile for, given a schema's release.

    A schema cannot tell patch releases apart (every 23.03.x has NB schema
    7.0.0). The 23.03 the machine runs is 23.03.1, which has ct_flush
    (backported from 23.06) and which samples/options-and-group.yaml targets;
    compiling it for a bare 23.03.0 would refuse ct_flush (E319).
    """
    if release.series == (23, 3):
        return OvnVersion(23, 3, 1)
    return release


StartServer = Callable[[Path], Sandbox]


@pytest.fixture
def nb_server(tmp_path: Path) -> Iterator[StartServer]:
    """A factory of fresh ovsdb-servers for one NB schema, all stopped at the end.

    Sandbox with northd=False: its NB server is created from the schema we
    name (its SB server, from the installed OVN, is simply unused here).
    """
    require_ovn()
    started: list[Sandbox] = []

    def start(schema: Path) -> Sandbox:
        sandbox = Sandbox(str(tmp_path / f"ovn{len(started)}"), nb_schema=str(schema), northd=False)
        started.append(sandbox)
        sandbox.start()
        return sandbox

    try:
        yield start
    finally:
        for sandbox in reversed(started):
            sandbox.stop()


def create_datapaths(server: Sandbox, document: Document) -> None:
    """The routers and switches the document attaches to, with only a name:
    the one column every schema has. Raw OVSDB, not ovn-nbctl, whose IDL is
    the installed OVN's (23.03) and would not match a newer schema."""
    wanted = dict.fromkeys(key for network in document.networks for key in network.datapaths())
    ops = [{"op": "insert", "table": table, "row": {"name": name}} for table, name in wanted]
    assert_no_errors(transact(server, json.dumps(["OVN_Northbound", *ops])))


def assert_no_errors(results: list[Any]) -> None:
    # ovsdb-client transact exits 0 even when an operation failed: look.
    errors = [result for result in results if isinstance(result, dict) and "error" in result]
    assert not errors, errors


def as_set(value: Any) -> set[str]:
    """A decoded OVSDB set column: a one-element set arrives as a bare atom."""
    return {value} if isinstance(value, str) else set(value)


def assert_rows_are_the_compilations(server: Sandbox, compilation: Compilation) -> None:
    rows = {row["name"]: row for row in dump_table(server, "Load_Balancer")}
    assert set(rows) == {row.name for row in compilation.changes.rows}
    for wanted in compilation.changes.rows:
        got = rows[wanted.name]
        assert got["options"] == dict(wanted.options), wanted.name
        assert as_set(got["selection_fields"]) == set(wanted.selection_fields), wanted.name
    groups = {row["name"] for row in dump_table(server, "Load_Balancer_Group")}
    assert groups == {group.name for group in compilation.changes.groups}


@pytest.mark.parametrize("schema", schema_params())
def test_release_of_schema_agrees_with_the_file(schema: Path | None) -> None:
    schema = need(schema)
    version = json.loads(schema.read_text(encoding="utf-8"))["version"]
    assert release_of_schema(version) == release_of_file(schema), f"{schema.name} has NB schema {version}"


def test_the_schema_directory_has_every_supported_release() -> None:
    found = {release_of_file(path) for path in schema_files()}
    missing = [str(release) for _, release in SCHEMA_RELEASES if release not in found]
    if len(found) >= EXPECTED_SCHEMAS and not missing:
        return
    message = f"{len(found)} NB schema(s) in {schema_directory()}; missing OVN {', '.join(missing)}"
    if in_ci():
        pytest.fail(message + "; CI=true needs all of them", pytrace=False)
    pytest.skip(message)


def sample_on_server(nb_server: StartServer, schema: Path | None, sample: Path) -> tuple[Compilation, Sandbox]:
    """The sample compiled for the schema's release, and a fresh server of that schema with its datapaths."""
    schema = need(schema)
    compilation = compile_files([str(sample)], ovn_version=compile_target(release_of_file(schema)))
    server = nb_server(schema)
    create_datapaths(server, compilation.document)
    return compilation, server


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda path: path.name)
@pytest.mark.parametrize("schema", schema_params())
def test_apply_writes_every_sample_into_every_release(
    nb_server: StartServer, schema: Path | None, sample: Path
) -> None:
    compilation, server = sample_on_server(nb_server, schema, sample)
    # Raises OvsdbError, naming the operation, if the server refuses anything.
    apply_compilation(compilation, [sample.name], server.nb_remote)
    assert_rows_are_the_compilations(server, compilation)
    # The database now holds exactly the file: a second apply finds nothing to do.
    assert apply_compilation(compilation, [sample.name], server.nb_remote).operations == 0


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda path: path.name)
@pytest.mark.parametrize("schema", schema_params())
def test_the_blind_transaction_of_every_sample_is_accepted(
    nb_server: StartServer, schema: Path | None, sample: Path
) -> None:
    compilation, server = sample_on_server(nb_server, schema, sample)
    assert_no_errors(transact(server, emit_json(compilation.changes, [sample.name])))
    assert_rows_are_the_compilations(server, compilation)


IPV6_HASHED = """\
version: 1
networks:
  - name: net60
    row_prefix: incus-net60
    router: incus-net60-lr
    switch: incus-net60-ls-int
    ipv6_address: fd42:6:6:6::1/64
    load_balancers:
      - listen_address: "2001:db8:0:600::10"
        description: hashed on the IPv6 addresses
        config:
          selection_fields: ipv6_src,ipv6_dst
        backends:
          - name: web1
            description: ""
            target_address: "fd42:6:6:6::2"
            target_port: "8080"
        ports:
          - description: ""
            protocol: tcp
            listen_port: "80"
            target_backend: [web1]
        location: ""
"""


@pytest.mark.parametrize("schema", schema_params())
def test_ipv6_selection_fields_only_for_releases_that_take_them(
    nb_server: StartServer, tmp_path: Path, schema: Path | None
) -> None:
    schema = need(schema)
    release = release_of_file(schema)
    path = tmp_path / "ipv6-hashed.yaml"
    path.write_text(IPV6_HASHED, encoding="utf-8")
    server = nb_server(schema)

    if release >= IPV6_SELECTION_FIELDS:
        compilation = compile_files([str(path)], ovn_version=compile_target(release))
        create_datapaths(server, compilation.document)
        apply_compilation(compilation, [path.name], server.nb_remote)
        (row,) = dump_table(server, "Load_Balancer")
        assert as_set(row["selection_fields"]) == {"ipv6_dst", "ipv6_src"}
        return

    # Too new for this release: the compiler refuses, naming the release that has it...
    with pytest.raises(CompileError) as refused:
        compile_files([str(path)], ovn_version=compile_target(release))
    e319 = [d for d in refused.value.diagnostics if d.code == "E319"]
    assert e319, refused.value.render()
    assert str(IPV6_SELECTION_FIELDS) in e319[0].message
    # ...and rightly: this release's server would have refused the row.
    row = {"name": "ipv6-hashed", "selection_fields": ["set", ["ipv6_src"]]}
    (result,) = transact(server, json.dumps(["OVN_Northbound", {"op": "insert", "table": "Load_Balancer", "row": row}]))
    assert result.get("error") == "constraint violation", result


# ovn-northd takes a router port's own address as a probe source from 26.03.
PROBE_SOURCE_ROUTER = OvnVersion(26, 3)


@pytest.mark.parametrize("schema", schema_params())
def test_probe_source_router_only_against_a_database_of_26_03(
    nb_server: StartServer, tmp_path: Path, schema: Path | None
) -> None:
    """The file says target_ovn 26.03; an older database's release still wins
    (E319 at the value, nothing sent). From 26.03 the mappings name the gateway."""
    schema = need(schema)
    text = (
        (SAMPLES / "ipv4-healthcheck.yaml")
        .read_text(encoding="utf-8")
        .replace("version: 1\n", 'version: 1\ntarget_ovn: "26.03"\n')
        .replace(
            "    ipv4_address: 10.135.209.1/24\n",
            "    ipv4_address: 10.135.209.1/24\n    probe_source: {ipv4: router}\n",
        )
    )
    path = tmp_path / "router-source.yaml"
    path.write_text(text, encoding="utf-8")
    compilation = compile_files([str(path)])
    server = nb_server(schema)
    create_datapaths(server, compilation.document)
    if release_of_file(schema) < PROBE_SOURCE_ROUTER:
        with pytest.raises(CompileError) as refused:
            apply_compilation(compilation, [path.name], server.nb_remote)
        (e319,) = [d for d in refused.value.diagnostics if d.code == "E319"]
        assert "OVN 26.03 or later" in e319.message and "the database" in e319.message
        line = text.splitlines()[e319.span.line - 1]
        assert line == "    probe_source: {ipv4: router}" and e319.span.column == line.index("router") + 1
        assert dump_table(server, "Load_Balancer") == []
        return
    apply_compilation(compilation, [path.name], server.nb_remote)
    (row,) = dump_table(server, "Load_Balancer")
    assert set(row["ip_port_mappings"].values()) == {
        f"{port}:10.135.209.1"
        for port in (
            "incus-net49-instance-22be9150-eth0",
            "incus-net49-instance-5c3e8a41-eth0",
            "incus-net49-instance-9f1d7b20-eth0",
        )
    }
