"""The command line: exit codes, outputs, and nothing written on errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from compiler.cli import main

from .conftest import ROOT, SAMPLES, require_ovn, sample_paths

BROKEN = ROOT / "tests" / "golden" / "errors" / "many-errors.yaml"


def test_check_ok_and_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLES / "ipv4-healthcheck.yaml")]) == 0
    assert "ok (1 Load_Balancer row)" in capsys.readouterr().err
    assert main(["check", str(BROKEN)]) == 1
    err = capsys.readouterr().err
    assert "error[E102]" in err and "3 errors; nothing was written" in err


def test_compile_writes_nothing_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lb.sh"
    assert main(["compile", str(BROKEN), "-o", str(out)]) == 1
    assert not out.exists()
    assert capsys.readouterr().out == ""


def test_compile_to_file_is_executable_and_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sh", tmp_path / "b.sh"
    sample = str(SAMPLES / "forward-and-lb.yaml")
    assert main(["compile", sample, "-o", str(first)]) == 0
    assert main(["compile", sample, "--format", "nbctl", "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_mode & 0o111
    assert subprocess.run(["sh", "-n", str(first)], check=False).returncode == 0


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["compile"], ["frobnicate"], ["compile", "x.yaml", "--format", "xml"], []):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    capsys.readouterr()


def test_missing_file_is_a_diagnostic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "error[E100]: cannot read the file" in capsys.readouterr().err


def test_several_files_form_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same network in two files is an error; two different ones compile together.
    one = SAMPLES / "ipv4-healthcheck.yaml"
    assert main(["check", str(one), str(one)]) == 1
    assert "error[E300]" in capsys.readouterr().err
    assert main(["check", str(one), str(SAMPLES / "port-ranges.json")]) == 0


def test_stdin_and_input_format(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    text = json.dumps(yaml.safe_load((SAMPLES / "ipv4-healthcheck.yaml").read_text()))
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["compile", "--input-format", "json", "-"]) == 0
    assert "from <stdin>" in capsys.readouterr().out


def test_schema_is_valid_and_accepts_every_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    for sample in sample_paths():
        jsonschema.validate(yaml.safe_load(sample.read_text()), schema)


def test_python_dash_m_and_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0
    for words in ("exit status:", "diagnostics:", "OVN_NB_DB", "compile FILE..."):
        assert words in result.stdout


def test_sandbox_command_shows_rows_monitors_and_flows(capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import require_ovn

    require_ovn()
    assert main(["sandbox", str(SAMPLES / "ipv4-healthcheck.yaml")]) == 0
    out = capsys.readouterr().out
    assert "incus-net49-lb-10.171.5.10-tcp" in out
    assert out.count('src_ip              : "10.135.209.254"') == 3
    assert "ct_lb_mark(backends=10.135.209.2:8080,10.135.209.3:8080,10.135.209.4:8080)" in out


def test_installed_console_script_finds_its_templates(tmp_path: Path) -> None:
    """`pip install .` must give a working tool: templates and schema inside the package."""
    import os
    import shutil

    script = Path(sys.executable).parent / "ovn-lbc"
    if not script.exists():
        found = shutil.which("ovn-lbc")
        if found is None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("ovn-lbc is not installed in the test environment")
            pytest.skip("ovn-lbc is not installed (run scripts/setup)")
        script = Path(found)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(script), "compile", str(SAMPLES / "ipv4-healthcheck.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # away from the source tree, so the installed package is used
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "lb-add 'incus-net49-lb-10.171.5.10-tcp'" in result.stdout
    result = subprocess.run([str(script), "schema"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert json.loads(result.stdout)["title"].startswith("ovn-lbc")


def test_fmt_check_rewrite_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    canonical = (SAMPLES / "ipv4-healthcheck.lb").read_text()
    messy = tmp_path / "messy.lb"
    messy.write_text(canonical.replace("    router ", "  router     ").replace("web1, web2", "web1 ,web2"))
    assert main(["fmt", "--check", str(SAMPLES / "ipv4-healthcheck.lb")]) == 0
    assert main(["fmt", "--check", str(messy)]) == 1
    assert "would reformat" in capsys.readouterr().err
    assert messy.read_text() != canonical  # --check changes nothing
    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text() == canonical
    assert main(["fmt", "--check", str(messy)]) == 0
    broken = tmp_path / "broken.lb"
    broken.write_text(canonical.replace("tcp 80 ->", "tcp 80 =>"))
    before = broken.read_text()
    assert main(["fmt", str(broken)]) == 1
    assert "broken.lb:" in capsys.readouterr().err and broken.read_text() == before


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
@pytest.mark.parametrize("target", ["dsl", "yaml"])
def test_convert_then_compile_gives_the_same_transaction(
    sample: Path, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    converted = tmp_path / ("converted.lb" if target == "dsl" else "converted.yaml")
    assert main(["convert", str(sample), "--to", target, "-o", str(converted)]) == 0
    capsys.readouterr()
    assert main(["compile", "--format", "json", str(sample)]) == 0
    original = json.loads(capsys.readouterr().out)
    assert main(["compile", "--format", "json", str(converted)]) == 0
    again = json.loads(capsys.readouterr().out)
    # Everything but the comment op, which names the input file.
    assert again[2:] == original[2:] and again[0] == original[0]


def test_convert_refuses_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(BROKEN), "--to", "dsl"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "error[E102]" in captured.err


# -- limits and remotes: usage errors, before anything is read or connected ------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-1", "0", "soon", "1e999"])
@pytest.mark.parametrize("command", ["plan", "apply", "destroy"])
def test_a_timeout_that_never_or_always_expires_is_a_usage_error(
    command: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, str(SAMPLES / "ipv4-healthcheck.yaml"), "--db", "unix:/nonexistent", "--timeout", value])
    assert exc.value.code == 2
    assert "--timeout" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("remote", "words"),
    [
        ("tcp:127.0.0.1:70000", "port 70000 is not between 1 and 65535"),
        ("tcp:127.0.0.1:65536", "port 65536 is not between 1 and 65535"),
        ("tcp:127.0.0.1:" + "1" * 5000, "expected tcp:HOST:PORT"),
        ("unix:/nonexistent,ssl:[::1]:99999", "port 99999"),
        ("http://127.0.0.1:6641", "expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT"),
    ],
    ids=["70000", "65536", "digits", "in-a-cluster", "scheme"],
)
def test_a_malformed_remote_is_a_usage_error_before_connecting(
    remote: str, words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def no_connecting(*args: object, **kwargs: object) -> None:
        raise AssertionError("connected despite a malformed remote")

    monkeypatch.setattr(socket, "create_connection", no_connecting)
    sample = str(SAMPLES / "ipv4-healthcheck.yaml")
    for argv in (["plan", sample, "--db", remote], ["apply", sample, "--db", remote], ["destroy", sample]):
        monkeypatch.setenv("OVN_NB_DB", remote)  # destroy takes it from the environment
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


# -- files from elsewhere: dumps, backups and saved plans that are malformed -----------------------------

_TABLES = [
    "Load_Balancer",
    "Load_Balancer_Health_Check",
    "Load_Balancer_Group",
    "Logical_Switch",
    "Logical_Router",
    "Logical_Switch_Port",
    "NB_Global",
    "NAT",
]


def _dump(**rows: list[list[object]]) -> str:
    """A JSON dump of every table a plan reads, empty but for ``rows`` (headings _uuid, name, vips)."""
    return "\n".join(
        json.dumps({"caption": f"{table} table", "headings": ["_uuid", "name", "vips"], "data": rows.get(table, [])})
        for table in _TABLES
    )


def _backup(*records: object) -> str:
    texts = [json.dumps(record) for record in records]
    return "".join(f"OVSDB JSON {len(text.encode())} 0\n{text}\n" for text in texts)


SCHEMA_RECORD = {"name": "OVN_Northbound", "version": "7.0.0", "tables": {}}
UUID = ["uuid", "0b3a35b4-1ab4-4e2c-9dd3-31c2a0f7a0f1"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"caption": "x", "headings": ["_uuid"], "data": [[' + "1" * 5000 + "]]}", "4300 digits"),
        ('{"caption": "Load_Balancer table", "headings": "_uuid", "data": []}', "not a list of names"),
        ('{"caption": "Load_Balancer table", "headings": ["_uuid"], "data": {}}', "not a list of rows"),
        ('{"caption": "Load_Balancer table", "headings": ["_uuid"], "data": [[1, 2]]}', "2 values for 1 columns"),
        (_dump(Load_Balancer=[[["uuid", [1]], "lb", ["map", []]]]), "_uuid is"),
        (_dump(Load_Balancer=[[UUID, "lb", ["map", [["a"]]]]]), "vips is"),
        (_dump(Load_Balancer=[[UUID, 7, ["map", []]]]), "name is 7, not a string"),
        (_dump(Load_Balancer=[[UUID, "lb", {"a": "b"}]]), "not an OVSDB map of strings"),
        (_backup(["not", "a", "schema"]), "is not a JSON object"),
        (_backup({"name": "OVN_Northbound", "tables": []}), "no schema"),
        (_backup(SCHEMA_RECORD, {"Load_Balancer": []}), "rows of table Load_Balancer"),
        (_backup(SCHEMA_RECORD, {"Load_Balancer": {UUID[1]: "row"}}), "is not an object"),
        (_backup(SCHEMA_RECORD, {"Load_Balancer": {UUID[1]: {"vips": ["set", 7]}}}), "vips is"),
        ("OVSDB JSON ٣ 0\n{}\n", "bad record header"),
        ("OVSDB JSON " + "9" * 5000 + " 0\n{}\n", "bad record header"),
        ('OVSDB JSON 100 0\n{"a":' + "[" * 90 + "\n", "not an `ovsdb-client backup` file"),
        ("OVSDB JSON 9 0\n" + "[" * 9 + "\n", "not an `ovsdb-client backup` file"),
    ],
    ids=[
        "deep",
        "digits",
        "headings",
        "data",
        "short-row",
        "bad-uuid",
        "bad-pair",
        "int-name",
        "dict-map",
        "record-list",
        "schema-tables",
        "rows-list",
        "row-string",
        "bad-set",
        "unicode-length",
        "long-length",
        "cut-record",
        "deep-record",
    ],
)
def test_a_malformed_dump_or_backup_is_one_line(
    text: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nb.dump"
    path.write_text(text, encoding="utf-8")
    assert main(["plan", str(SAMPLES / "ipv4-healthcheck.yaml"), "--from-dump", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ovn-lbc: plan: cannot read {path}: ") and words in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'["OVN_Northbound", {"op": "comment", "comment": ' + b"1" * 5000 + b"}]", "4300 digits"),
        (b'["OVN_Northbound", {"op": "comment", "comment": "\xff"}]', "not UTF-8"),
        (b'["OVN_Northbound", {"op": ', "not JSON"),
        (b"", "not JSON"),
    ],
    ids=["deep", "digits", "utf8", "cut", "empty"],
)
def test_an_unreadable_saved_plan_is_one_line(
    content: bytes, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    assert main(["apply", "--plan-file", str(path), "--db", f"unix:{tmp_path / 'none.sock'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ovn-lbc: apply: cannot read {path}: ") and words in err and err.count("\n") == 1, err


def test_an_endless_dump_or_plan_is_read_only_up_to_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    sample = str(SAMPLES / "ipv4-healthcheck.yaml")
    assert main(["plan", sample, "--from-dump", "/dev/zero", "--max-reply", "1M"]) == 2
    assert "larger than 1,048,576 bytes" in capsys.readouterr().err
    assert main(["apply", "--plan-file", "/dev/zero", "--max-reply", "1M", "--db", "unix:/nonexistent"]) == 2
    assert "larger than 1,048,576 bytes" in capsys.readouterr().err


def test_the_servers_own_file_with_diff_records_plans_as_live(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A standalone database file replays diff records: map keys and set atoms (UUIDs stay UUIDs) toggle."""
    import shutil

    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .conftest import require_ovn

    require_ovn()
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    data = yaml.safe_load(sample.read_text())
    edited = tmp_path / "edited.yaml"
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(sample)]).document)
        lb = data["networks"][0]["load_balancers"][0]
        lb["backends"][0]["target_port"] = "8081"
        del lb["config"]["healthcheck"]
        edited.write_text(yaml.safe_dump(data))
        assert main(["apply", str(edited), "--db", ovn.nb_remote]) == 0
        # Then a map diff (the port back) and a set diff (health_check gains a row's UUID).
        assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
        assert "_is_diff" in (ovn.directory / "nb.db").read_text()
        shutil.copy(ovn.directory / "nb.db", tmp_path / "copy.db")
        capsys.readouterr()
        assert main(["plan", str(edited), "--db", ovn.nb_remote, "--format", "json"]) == 0
        live = json.loads(capsys.readouterr().out)
    assert main(["plan", str(edited), "--from-dump", str(tmp_path / "copy.db"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == live and len(live) > 3


# -- saved plans: exactly what the planner writes, and nothing else ---------------------------------------


def _plan_json(ovn_remote: str, capsys: pytest.CaptureFixture[str], *args: str) -> list[Any]:
    capsys.readouterr()
    assert main(["plan", *args, "--db", ovn_remote, "--format", "json"]) == 0
    params: list[Any] = json.loads(capsys.readouterr().out)
    return params


def _accepted(params: list[Any]) -> None:
    from compiler.saved_plan import saved_plan_problem

    assert saved_plan_problem(params) is None, json.dumps(params, indent=1)[:3000]


def _apply_saved(ovn_remote: str, params: list[Any], tmp_path: Path, name: str = "plan.json") -> int:
    path = tmp_path / name
    path.write_text(json.dumps(params))
    return main(["apply", "--plan-file", str(path), "--db", ovn_remote])


@pytest.mark.parametrize("sample", sample_paths() + sorted(SAMPLES.glob("*.lb")), ids=lambda p: p.name)
def test_every_plan_of_a_sample_is_accepted_and_applies(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .conftest import require_ovn

    require_ovn()
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(sample)]).document)
        ovn.nbctl("lb-add", "someone-elses-lb", "192.0.2.1:80", "10.0.0.1:80")  # foreign rows stay out of it
        ovn.nbctl("create", "Load_Balancer_Group", "name=someone-elses-group")
        for step in ("apply", "destroy"):
            params = _plan_json(ovn.nb_remote, capsys, str(sample), *(["--destroy"] if step == "destroy" else []))
            assert len(params) > 2
            _accepted(params)
            assert _apply_saved(ovn.nb_remote, params, tmp_path) == 0
            assert _plan_json(ovn.nb_remote, capsys, str(sample), *(["--destroy"] if step == "destroy" else [])) == [
                "OVN_Northbound"
            ]
        capsys.readouterr()
        assert main(["plan", str(sample), "--db", ovn.nb_remote, "--destroy"]) == 0


def test_every_incremental_plan_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each edit of test_plan, forwards and back, with a foreign row and group about; and --adopt."""
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .conftest import require_ovn
    from .test_plan import EDITS, load, write

    require_ovn()
    original = write(tmp_path / "original.yaml", load("ipv4-healthcheck.yaml"))
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        ovn.nbctl("lb-add", "someone-elses-lb", "192.0.2.1:80", "10.0.0.1:80")
        for name, (change, _) in sorted(EDITS.items()):
            data = load("ipv4-healthcheck.yaml")
            change(data)
            edited = write(tmp_path / f"{name}.yaml", data)
            build_topology(ovn, compile_files([str(edited)]).document)
            assert main(["apply", str(original), "--db", ovn.nb_remote]) == 0
            for there in (edited, original, edited):
                params = _plan_json(ovn.nb_remote, capsys, str(there))
                _accepted(params)
                assert _apply_saved(ovn.nb_remote, params, tmp_path) == 0, name
                assert _plan_json(ovn.nb_remote, capsys, str(there)) == ["OVN_Northbound"], name
            assert main(["destroy", str(edited), "--db", ovn.nb_remote]) == 0
        # A group that moves: rows leave one group for another.
        data = load("ipv4-healthcheck.yaml")
        data["networks"][0]["lb_group"] = "group-a"
        first = write(tmp_path / "group-a.yaml", data)
        data["networks"][0]["lb_group"] = "group-b"
        second = write(tmp_path / "group-b.yaml", data)
        for there in (first, second, original, first):
            params = _plan_json(ovn.nb_remote, capsys, str(there))
            _accepted(params)
            assert _apply_saved(ovn.nb_remote, params, tmp_path) == 0
        params = _plan_json(ovn.nb_remote, capsys, str(first), "--destroy")
        _accepted(params)
        assert _apply_saved(ovn.nb_remote, params, tmp_path) == 0
        # --adopt: a hand-made row of ovn-lbc's name is taken over, and the plan says so.
        ovn.nbctl("lb-add", "incus-net49-lb-10.171.5.10-tcp", "10.171.5.10:80", "10.135.209.2:8080")
        params = _plan_json(ovn.nb_remote, capsys, str(original), "--adopt")
        _accepted(params)
        assert _apply_saved(ovn.nb_remote, params, tmp_path) == 0
        assert _plan_json(ovn.nb_remote, capsys, str(original)) == ["OVN_Northbound"]


def _where(uuid: str) -> list[Any]:
    return [["_uuid", "==", ["uuid", uuid]]]


def _edited_plans(base: list[Any], uuid_of: dict[str, str]) -> dict[str, tuple[list[Any], str]]:
    """``base``, a real plan, hand-edited to do one thing ovn-lbc's planner never writes; and what the refusal says."""
    foreign, switch, router, ours = (uuid_of[n] for n in ("foreign", "switch", "router", "ours"))
    end = len(base)  # the number an appended operation gets
    guard = next(i for i, op in enumerate(base) if i and op["op"] == "wait" and op["table"] == "Load_Balancer")
    # A guard an attacker writes for the foreign row: it shows the row as it is, without the mark.
    foreign_guard = {**base[guard], "where": _where(foreign)}
    foreign_guard["rows"] = [{**base[guard]["rows"][0], "external_ids": ["map", []]}]
    switch_guard = {
        "op": "wait",
        "table": "Logical_Switch",
        "where": _where(switch),
        "columns": ["name"],
        "until": "==",
        "rows": [{"name": "incus-net49-ls-int"}],
        "timeout": 0,
    }

    def appended(*ops: dict[str, Any]) -> list[Any]:
        return [*base, *ops]

    def guarded(guard_op: dict[str, Any], *ops: dict[str, Any]) -> list[Any]:
        return [*base[:2], guard_op, *base[2:], *ops]

    def mutate(table: str, uuid: str, *mutations: list[Any]) -> dict[str, Any]:
        return {"op": "mutate", "table": table, "where": _where(uuid), "mutations": list(mutations)}

    return {
        "delete-foreign-lb": (
            appended({"op": "delete", "table": "Load_Balancer", "where": _where(foreign)}),
            f"operation {end} (delete Load_Balancer): no guard before it on Load_Balancer row {foreign}",
        ),
        "delete-foreign-lb-with-a-guard": (
            guarded(foreign_guard, {"op": "delete", "table": "Load_Balancer", "where": _where(foreign)}),
            f"Load_Balancer row {foreign} is not ovn-lbc's: its guard shows no ovn-lbc:network mark",
        ),
        "delete-every-lb": (
            appended({"op": "delete", "table": "Load_Balancer", "where": []}),
            "it selects by []; ovn-lbc writes one row, by _uuid",
        ),
        "delete-switch": (
            appended({"op": "delete", "table": "Logical_Switch", "where": _where(switch)}),
            f"operation {end} (delete Logical_Switch): ovn-lbc never deletes Logical_Switch rows",
        ),
        "delete-router": (
            appended({"op": "delete", "table": "Logical_Router", "where": _where(router)}),
            f"operation {end} (delete Logical_Router): ovn-lbc never deletes Logical_Router rows",
        ),
        "update-without-guard": (
            [
                base[0],
                *(
                    op
                    for op in base[1:]
                    if op is not base[guard] and (op["op"], op.get("table")) != ("mutate", "Load_Balancer")
                ),
            ],
            f"(update Load_Balancer): no guard before it on Load_Balancer row {ours}",
        ),
        "another-table": (
            appended({"op": "insert", "table": "ACL", "row": {"action": "allow-related"}}),
            "ovn-lbc's plans never write table 'ACL'",
        ),
        "switch-ports": (
            guarded(switch_guard, mutate("Logical_Switch", switch, ["ports", "delete", ["set", []]])),
            "it mutates 'ports'; ovn-lbc changes only load_balancer and load_balancer_group",
        ),
        "router-options": (
            appended(mutate("Logical_Router", router, ["options", "insert", ["map", [["x", "y"]]]])),
            f"no guard before it on Logical_Router row {router}",
        ),
        "detach-foreign-lb": (
            guarded(
                switch_guard,
                mutate("Logical_Switch", switch, ["load_balancer", "delete", ["set", [["uuid", foreign]]]]),
            ),
            f"no guard before it on Load_Balancer row {foreign}",
        ),
        "guard-that-waits": (
            [op if i != guard else {**op, "timeout": 60000} for i, op in enumerate(base)],
            'a guard waits with "until": "==" and "timeout": 0',
        ),
        "foreign-external-id": (
            appended(mutate("Load_Balancer", ours, ["external_ids", "delete", ["set", ["owner"]]])),
            "it changes key 'owner' of external_ids, which ovn-lbc does not manage",
        ),
        # Renames: only a nameless row the plan adopts (test_a_saved_rename_is_held_to_its_guards).
        "rename-an-owned-row": (
            appended({"op": "update", "table": "Load_Balancer", "where": _where(ours), "row": {"name": "x"}}),
            f"it renames Load_Balancer row {ours}, which its guard shows named 'incus-net49-lb-10.171.5.10-tcp'; "
            "ovn-lbc renames only nameless rows",
        ),
        "adopt-and-rename-a-foreign-row": (
            guarded(
                {**foreign_guard, "rows": [{**foreign_guard["rows"][0], "name": "someone-elses-lb"}]},
                mutate("Load_Balancer", foreign, ["external_ids", "insert", ["map", [["ovn-lbc:network", "net49"]]]]),
                {"op": "update", "table": "Load_Balancer", "where": _where(foreign), "row": {"name": "x"}},
            ),
            "which its guard shows named 'someone-elses-lb'; ovn-lbc renames only nameless rows",
        ),
        "mark-a-foreign-group": (
            appended({"op": "mutate", "table": "NB_Global", "where": [], "mutations": []}),
            "it selects by []",
        ),
        "bad-where": (
            appended({"op": "mutate", "table": "Load_Balancer", "where": "everything", "mutations": []}),
            "it selects by 'everything'",
        ),
        "bad-rows": (
            [op if i != guard else {**op, "rows": "all"} for i, op in enumerate(base)],
            "a guard on a row shows that row",
        ),
        "select": (
            appended({"op": "select", "table": "Load_Balancer", "where": []}),
            "the operation 'select' is not one ovn-lbc uses",
        ),
        "no-comment": (base[:1] + base[2:], "a plan starts with its comment"),
        "not-an-operation": (appended([1, 2]), "is not an operation"),  # type: ignore[arg-type]
    }


def test_a_hand_edited_plan_is_refused_before_connecting_naming_the_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .conftest import require_ovn
    from .helpers import dump_table

    require_ovn()
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(sample)]).document)
        ovn.nbctl("lb-add", "someone-elses-lb", "192.0.2.1:80", "10.0.0.1:80")
        assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
        data = yaml.safe_load(sample.read_text())
        lb = data["networks"][0]["load_balancers"][0]
        lb["config"]["selection_fields"] = "ip_src"  # an update of the row: guarded
        lb["backends"][0]["target_port"] = "8081"  # a mutate of it: guarded
        edited = tmp_path / "edited.yaml"
        edited.write_text(yaml.safe_dump(data))
        base = _plan_json(ovn.nb_remote, capsys, str(edited))
        uuids = {
            row["name"]: row["_uuid"]
            for t in ("Load_Balancer", "Logical_Switch", "Logical_Router")
            for row in dump_table(ovn, t)
        }
        uuid_of = {
            "foreign": uuids["someone-elses-lb"],
            "switch": uuids["incus-net49-ls-int"],
            "router": uuids["incus-net49-lr"],
            "ours": uuids["incus-net49-lb-10.171.5.10-tcp"],
        }
        before = subprocess.run(
            ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
        ).stdout
        for name, (params, words) in _edited_plans(base, uuid_of).items():
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(params))
            # Against the real database: refused all the same, and before connecting (a dead remote: still 2).
            for remote in (ovn.nb_remote, f"unix:{tmp_path / 'nobody.sock'}"):
                assert main(["apply", "--plan-file", str(path), "--db", remote]) == 2, name
                err = capsys.readouterr().err
                assert err.startswith(f"ovn-lbc: apply: {path} is not a saved plan: operation "), err
                assert words in err and err.count("\n") == 1, (name, err)
        after = subprocess.run(
            ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
        ).stdout
        assert after == before
        # A forged guard that claims the foreign row is ovn-lbc's passes the check, and the server refuses it.
        forged = json.loads(json.dumps(base))
        guard = next(i for i, op in enumerate(forged) if i and op["op"] == "wait" and op["table"] == "Load_Balancer")
        forged.insert(guard, {**forged[guard], "where": _where(uuid_of["foreign"])})
        forged.append({"op": "delete", "table": "Load_Balancer", "where": _where(uuid_of["foreign"])})
        assert _apply_saved(ovn.nb_remote, forged, tmp_path, "forged.json") == 3
        assert "the database moved since the plan was made" in capsys.readouterr().err
        assert "someone-elses-lb" in {row["name"] for row in dump_table(ovn, "Load_Balancer")}


def test_a_saved_rename_is_held_to_its_guards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--adopt renames a nameless row: accepted as planned, and applied; every
    forged rename refused before connecting, the database left as it was."""
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .conftest import require_ovn
    from .helpers import dump_table

    require_ovn()
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    name = "incus-net49-lb-10.171.5.10-tcp"
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(sample)]).document)
        uuid = ovn.nbctl("create", "Load_Balancer", 'vips:"10.171.5.10:80"="10.135.209.2:8080"', "protocol=tcp")
        uuid = uuid.strip()
        base = _plan_json(ovn.nb_remote, capsys, str(sample), "--adopt")
        _accepted(base)
        row_guard = next(i for i, op in enumerate(base) if i and op["op"] == "wait" and op["where"] == _where(uuid))
        name_guard = base.index(
            {
                "op": "wait",
                "table": "Load_Balancer",
                "where": [["name", "==", name]],
                "columns": ["_uuid"],
                "until": "==",
                "rows": [],
                "timeout": 0,
            }
        )
        update = next(i for i, op in enumerate(base) if i and op["op"] == "update")
        assert base[update]["row"]["name"] == name
        mark = next(i for i, op in enumerate(base) if i and (op["op"], op.get("table")) == ("mutate", "Load_Balancer"))

        def replaced(index: int, op: dict[str, Any] | None) -> list[Any]:
            return [*base[:index], *([op] if op is not None else []), *base[index + 1 :]]

        def shown(**columns: Any) -> dict[str, Any]:
            return {**base[row_guard], "rows": [{**base[row_guard]["rows"][0], **columns}]}

        def renamed(to: Any) -> dict[str, Any]:
            return {**base[update], "row": {**base[update]["row"], "name": to}}

        forged = {
            "no-guard-on-the-name": (
                replaced(name_guard, None),
                f"no guard before it checks that no load balancer is named {name!r}",
            ),
            "another-name": (
                replaced(update, renamed("evil")),
                "no guard before it checks that no load balancer is named 'evil'",
            ),
            "no-name": (replaced(update, renamed("")), "no guard before it checks that no load balancer is named ''"),
            "a-named-row": (
                replaced(row_guard, shown(name="someone-elses-lb")),
                f"it renames Load_Balancer row {uuid}, which its guard shows named 'someone-elses-lb'",
            ),
            "an-owned-row": (
                replaced(row_guard, shown(external_ids=["map", [["ovn-lbc:network", "net7"]]])),
                "which its guard shows ovn-lbc's (ovn-lbc:network='net7'); ovn-lbc renames only a nameless row",
            ),
            "not-adopted": (replaced(mark, None), f"Load_Balancer row {uuid} is not ovn-lbc's"),
            "renamed-twice": ([*base, base[update]], f"two load balancers of the plan would be named {name!r}"),
        }
        before = dump_table(ovn, "Load_Balancer")
        for what, (params, words) in forged.items():
            path = tmp_path / f"{what}.json"
            path.write_text(json.dumps(params))
            for remote in (ovn.nb_remote, f"unix:{tmp_path / 'nobody.sock'}"):
                assert main(["apply", "--plan-file", str(path), "--db", remote]) == 2, what
                err = capsys.readouterr().err
                assert err.startswith(f"ovn-lbc: apply: {path} is not a saved plan: operation "), err
                assert words in err and err.count("\n") == 1, (what, err)
        assert dump_table(ovn, "Load_Balancer") == before
        assert _apply_saved(ovn.nb_remote, base, tmp_path) == 0
        (row,) = dump_table(ovn, "Load_Balancer")
        assert (row["_uuid"], row["name"], row["external_ids"]["ovn-lbc:network"]) == (uuid, name, "net49")


def _grouped_samples(tmp_path: Path) -> dict[str, Path]:
    """ipv4-healthcheck in group-a, with a second load balancer, and moved to group-b."""
    from .test_plan import _add_load_balancer, load, write

    data = load("ipv4-healthcheck.yaml")
    data["networks"][0]["lb_group"] = "group-a"
    files = {"group-a": write(tmp_path / "group-a.yaml", data)}
    _add_load_balancer(data)
    files["group-a-more"] = write(tmp_path / "group-a-more.yaml", data)
    data = load("ipv4-healthcheck.yaml")
    data["networks"][0]["lb_group"] = "group-b"
    files["group-b"] = write(tmp_path / "group-b.yaml", data)
    return files


def _ownership_guards(params: list[Any]) -> dict[str, Any]:
    """The plan's ownership guards of Load_Balancer rows, by _uuid."""
    return {
        op["where"][0][2][1]: op
        for op in params[1:]
        if op["op"] == "wait" and op["table"] == "Load_Balancer" and op["columns"] == ["_uuid"] and op["rows"]
    }


def test_a_foreign_load_balancer_put_in_ovn_lbcs_group_is_refused_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A group member the plan does not otherwise change has an ownership guard
    (its _uuid and ovn-lbc's mark); a uuid member without one is refused."""
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .helpers import dump_table

    require_ovn()
    files = _grouped_samples(tmp_path)
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(files["group-a"])]).document)
        ovn.nbctl("lb-add", "someone-elses-lb", "192.0.2.1:80", "10.0.0.1:80")
        assert main(["apply", str(files["group-a"]), "--db", ovn.nb_remote]) == 0
        uuids = {row["name"]: row["_uuid"] for row in dump_table(ovn, "Load_Balancer")}
        foreign, ours = uuids["someone-elses-lb"], uuids["incus-net49-lb-10.171.5.10-tcp"]
        group = next(row["_uuid"] for row in dump_table(ovn, "Load_Balancer_Group") if row["name"] == "group-a")
        # group-a gains a new row: a mutate of the (guarded) group, inserting a named-uuid.
        more = _plan_json(ovn.nb_remote, capsys, str(files["group-a-more"]))
        _accepted(more)
        at = next(i for i, op in enumerate(more) if i and op["op"] == "mutate" and op["table"] == "Load_Balancer_Group")
        # The move to group-b: the unchanged row joins a new group, under an ownership guard.
        move = _plan_json(ovn.nb_remote, capsys, str(files["group-b"]))
        _accepted(move)
        assert set(_ownership_guards(move)) == {ours}
        assert _ownership_guards(move)[ours] == {
            "op": "wait",
            "table": "Load_Balancer",
            "where": [
                ["_uuid", "==", ["uuid", ours]],
                ["external_ids", "includes", ["map", [["ovn-lbc:network", "net49"]]]],
            ],
            "columns": ["_uuid"],
            "until": "==",
            "rows": [{"_uuid": ["uuid", ours]}],
            "timeout": 0,
        }
        insert_at = next(
            i for i, op in enumerate(move) if i and op["op"] == "insert" and op["table"] == "Load_Balancer_Group"
        )
        unguarded = [op for op in move if op not in _ownership_guards(move).values()]

        def edited(params: list[Any], index: int, edit: Any) -> list[Any]:
            copied = json.loads(json.dumps(params))
            edit(copied[index])
            return copied

        def add_foreign(op: dict[str, Any]) -> None:
            op["mutations"][0][2][1].append(["uuid", foreign])

        def add_foreign_member(op: dict[str, Any]) -> None:
            op["row"]["load_balancer"][1].append(["uuid", foreign])

        def members(verb: str) -> dict[str, Any]:
            mutation = ["load_balancer", verb, ["set", [["uuid", foreign]]]]
            return {"op": "mutate", "table": "Load_Balancer_Group", "where": _where(group), "mutations": [mutation]}

        cases = {
            "mutate-insert-foreign": (edited(more, at, add_foreign), at, "mutate Load_Balancer_Group"),
            "mutate-delete-foreign": ([*more, members("delete")], len(more), "mutate Load_Balancer_Group"),
            "insert-foreign-member": (
                edited(move, insert_at, add_foreign_member),
                insert_at,
                "insert Load_Balancer_Group",
            ),
            "drop-ownership-guard": (unguarded, insert_at - 1, "insert Load_Balancer_Group"),
        }
        before = subprocess.run(
            ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
        ).stdout
        for name, (params, number, what) in cases.items():
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps(params))
            refused = ours if name == "drop-ownership-guard" else foreign
            words = (
                f"operation {number} ({what}): no guard before it shows that Load_Balancer row {refused} is ovn-lbc's"
            )
            for remote in (ovn.nb_remote, f"unix:{tmp_path / 'nobody.sock'}"):
                assert main(["apply", "--plan-file", str(path), "--db", remote]) == 2, name
                err = capsys.readouterr().err
                assert err == f"ovn-lbc: apply: {path} is not a saved plan: {words}\n", (name, err)
        after = subprocess.run(
            ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
        ).stdout
        assert after == before
        # A forged ownership guard for the foreign row passes the check; the server refuses it.
        forged = edited(move, insert_at, add_foreign_member)
        guard = _ownership_guards(move)[ours]
        where = [*_where(foreign), guard["where"][1]]
        forged.insert(2, {**guard, "where": where, "rows": [{"_uuid": ["uuid", foreign]}]})
        assert _apply_saved(ovn.nb_remote, forged, tmp_path, "forged.json") == 3
        err = capsys.readouterr().err
        assert f"Load_Balancer row {foreign} was deleted or is no longer ovn-lbc's" in err, err
        assert (
            subprocess.run(
                ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
            ).stdout
            == before
        )


def test_a_group_move_fails_when_the_row_stops_being_ovn_lbcs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ownership guard of a row that only changes group: another client takes
    the mark off between plan and apply, and the saved plan changes nothing (exit 3)."""
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .helpers import dump_table

    require_ovn()
    files = _grouped_samples(tmp_path)
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(files["group-a"])]).document)
        assert main(["apply", str(files["group-a"]), "--db", ovn.nb_remote]) == 0
        ours = next(row["_uuid"] for row in dump_table(ovn, "Load_Balancer"))
        params = _plan_json(ovn.nb_remote, capsys, str(files["group-b"]))
        _accepted(params)
        assert set(_ownership_guards(params)) == {ours}
        assert not any(op["op"] == "wait" and op.get("where") == _where(ours) for op in params[1:]), "no full-row guard"
        ovn.nbctl("remove", "Load_Balancer", ours, "external_ids", '"ovn-lbc:network"')
        before = subprocess.run(
            ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
        ).stdout
        assert _apply_saved(ovn.nb_remote, params, tmp_path) == 3
        err = capsys.readouterr().err
        assert "the database moved since the plan was made" in err, err
        assert f"Load_Balancer row {ours} was deleted or is no longer ovn-lbc's (network 'net49')" in err, err
        assert err.count("\n") == 1, err
        after = subprocess.run(
            ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
        ).stdout
        assert after == before
        assert "group-b" not in {row["name"] for row in dump_table(ovn, "Load_Balancer_Group")}


def test_a_row_leaving_a_shared_group_is_guarded_by_its_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two networks share a group; one moves to its own. Its row leaves one group
    and joins the other under one ownership guard, with the owner the database
    shows; the saved plan is accepted and applies."""
    from compiler import compile_files
    from compiler.sandbox import Sandbox, build_topology

    from .helpers import dump_table
    from .test_plan import load, write

    require_ovn()
    data = load("ipv4-healthcheck.yaml")
    net = data["networks"][0]
    text = json.dumps(net).replace("net49", "net50").replace("10.135.209.", "10.135.210.")
    other = json.loads(text.replace("10.171.5.10", "10.171.6.10"))
    data["networks"].append(other)
    net["lb_group"] = other["lb_group"] = "shared"
    shared = write(tmp_path / "shared.yaml", data)
    other["lb_group"] = "own"
    own = write(tmp_path / "own.yaml", data)
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compile_files([str(shared)]).document)
        assert main(["apply", str(shared), "--db", ovn.nb_remote]) == 0
        moved = next(row["_uuid"] for row in dump_table(ovn, "Load_Balancer") if "net50" in row["name"])
        params = _plan_json(ovn.nb_remote, capsys, str(own))
        _accepted(params)
        assert set(_ownership_guards(params)) == {moved}
        assert _ownership_guards(params)[moved]["where"][1] == [
            "external_ids",
            "includes",
            ["map", [["ovn-lbc:network", "net50"]]],
        ]
        verbs = [
            (op["op"], mutation[1])
            for op in params[1:]
            if op.get("table") == "Load_Balancer_Group" and op["op"] == "mutate"
            for mutation in op["mutations"]
        ]
        assert verbs == [("mutate", "delete")]
        assert _apply_saved(ovn.nb_remote, params, tmp_path) == 0
        assert _plan_json(ovn.nb_remote, capsys, str(own)) == ["OVN_Northbound"]


# -- properties: whatever a hostile file holds, a one-line refusal, never a traceback ------------------------


def _json_values() -> Any:
    from hypothesis import strategies as st

    atoms = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    words = st.sampled_from(
        [
            "op",
            "table",
            "where",
            "rows",
            "columns",
            "mutations",
            "row",
            "uuid",
            "uuid-name",
            "map",
            "set",
            "_uuid",
            "==",
        ]
    )
    return st.recursive(
        atoms | words,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words | st.text(max_size=6), inner, max_size=4),
        max_leaves=24,
    )


def _operations() -> Any:
    from hypothesis import strategies as st

    tables = st.sampled_from(
        ["Load_Balancer", "Load_Balancer_Health_Check", "Load_Balancer_Group", "Logical_Switch", "NB_Global", "ACL"]
    )
    uuid = st.just(["uuid", "0b3a35b4-1ab4-4e2c-9dd3-31c2a0f7a0f1"])
    return st.fixed_dictionaries(
        {"op": st.sampled_from(["comment", "wait", "insert", "delete", "mutate", "update", "select"]), "table": tables},
        optional={
            "where": st.just([["_uuid", "==", ["uuid", "0b3a35b4-1ab4-4e2c-9dd3-31c2a0f7a0f1"]]]) | _json_values(),
            "rows": st.lists(
                st.dictionaries(st.sampled_from(["name", "external_ids", "_uuid"]), _json_values() | uuid)
            ),
            "columns": st.just(["name"]) | _json_values(),
            "mutations": st.lists(
                st.tuples(st.text(max_size=8), st.sampled_from(["insert", "delete"]), _json_values()).map(list)
            ),
            "row": st.dictionaries(st.sampled_from(["name", "external_ids", "health_check"]), _json_values()),
            "until": st.just("=="),
            "timeout": st.just(0),
            "uuid-name": st.text(max_size=6),
            "comment": st.text(max_size=6),
        },
    )


def test_no_saved_plan_crashes_the_check() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from compiler.saved_plan import saved_plan_problem

    @settings(max_examples=200, deadline=None)
    @given(st.lists(_operations() | _json_values(), max_size=6))
    def check(ops: list[Any]) -> None:
        problem = saved_plan_problem(["OVN_Northbound", {"op": "comment", "comment": "x"}, *ops])
        assert problem is None or ("\n" not in problem and len(problem) < 1000)

    check()


def test_no_dump_crashes_the_reader() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from compiler.ovsdb.dumps import DumpError, state_from_dump

    table = st.fixed_dictionaries(
        {
            "caption": st.sampled_from(_TABLES).map(lambda name: f"{name} table"),
            "headings": st.just(["_uuid", "name", "vips"]) | _json_values(),
            "data": st.lists(st.lists(_json_values() | st.just(UUID), max_size=3), max_size=3) | _json_values(),
        }
    )

    @settings(max_examples=150, deadline=None)
    @given(st.lists(table | _json_values(), max_size=8), st.booleans())
    def check(tables: list[Any], as_backup: bool) -> None:
        text = _backup(SCHEMA_RECORD, *tables) if as_backup else "\n".join(json.dumps(t) for t in tables)
        try:
            state_from_dump(text)
        except DumpError as exc:
            assert "\n" not in str(exc)

    check()


def test_sandbox_without_a_datapath_says_why_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No root or no /dev/net/tun: the plain sandbox still shows rows and flows
    (exit 0) and says why no probe is sent; --traffic cannot, and exits 3."""
    import compiler.datapath

    require_ovn()
    monkeypatch.setattr(compiler.datapath, "datapath_problem", lambda path: "the datapath needs root")
    sample = str(SAMPLES / "ipv4-healthcheck.yaml")
    assert main(["sandbox", sample, "--traffic"]) == 3
    assert capsys.readouterr().err == "ovn-lbc: sandbox: no traffic without a datapath: the datapath needs root\n"
    assert main(["sandbox", sample]) == 0
    captured = capsys.readouterr()
    assert captured.err == "ovn-lbc: sandbox: without a datapath (the datapath needs root), no probe is sent\n"
    assert "== Logical flows of incus-net49-ls-int that load-balance" in captured.out


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """`ovn-lbc compile ... | head`: standard output closed early is exit 141
    (as a shell reports SIGPIPE), one way or the other never a traceback."""
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "compiler", "compile", str(SAMPLES / "ipv4-healthcheck.yaml")],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""


def test_the_ok_line_shows_a_file_name_s_control_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file named with an escape sequence cannot drive the terminal from the ok line."""
    name = tmp_path / "lb\x1b[2J.yaml"
    name.write_text((SAMPLES / "ipv4-healthcheck.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["check", str(name)]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "lb\\u001b[2J.yaml: ok (1 Load_Balancer row)" in err
