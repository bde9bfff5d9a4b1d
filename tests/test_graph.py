"""`ovn-lbc graph`: golden pictures of every sample, valid DOT (the real `dot`),
labels no name can break out of, and monitor colours from a real OVN.

Regenerate the goldens with ``UPDATE_GOLDEN=1 pytest tests/test_graph.py`` and read the diff.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import compile_files
from compiler.cli import main
from compiler.diagnostics import escape_controls
from compiler.emit.graph import build_graph, dot_text, mermaid_text
from compiler.sandbox import Sandbox, build_topology, set_ports_up

from .conftest import ROOT, SAMPLES, sample_paths
from .test_golden import check_golden
from .test_hostile_peers import FakePeer, Session, answer, assert_one_line, run_cli

GOLDEN = Path(__file__).parent / "golden" / "graph"
SAMPLE = SAMPLES / "ipv4-healthcheck.yaml"
SUFFIX = {"dot": ".dot", "mermaid": ".mmd"}
SVG = "{http://www.w3.org/2000/svg}"


def require_dot() -> str:
    """The real Graphviz `dot`: skipped without it on a developer machine, a failure under CI=true."""
    found = shutil.which("dot")
    if found is not None:
        return found
    message = "Graphviz's dot is not installed (apt-get install graphviz; scripts/setup does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true forbids skipping", pytrace=False)
    pytest.skip(message)


def graph_of(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    capsys.readouterr()
    assert main(["graph", *argv]) == code
    return capsys.readouterr().out


def svg_of(dot_source: str) -> ET.Element:
    result = subprocess.run(
        [require_dot(), "-Tsvg"], input=dot_source, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return ET.fromstring(result.stdout)


def svg_nodes(svg: ET.Element) -> dict[str, list[str]]:
    """Each drawn node's id (its <title>) and the text lines of its label."""
    nodes = {}
    for group in svg.iter(f"{SVG}g"):
        if group.get("class") == "node":
            title = group.find(f"{SVG}title")
            assert title is not None and title.text is not None
            nodes[title.text] = [text.text or "" for text in group.iter(f"{SVG}text")]
    return nodes


# -- goldens: every sample, both formats ------------------------------------------------------


@pytest.mark.parametrize("output_format", ["dot", "mermaid"])
@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_sample_graph_matches_golden(
    sample: Path, output_format: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out = graph_of(capsys, str(sample.relative_to(ROOT)), "--format", output_format)
    check_golden(GOLDEN / f"{sample.stem}{SUFFIX[output_format]}", out)
    assert graph_of(capsys, str(sample.relative_to(ROOT)), "--format", output_format) == out  # deterministic


def test_the_dsl_form_of_a_sample_draws_the_same_picture(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    yaml_form = graph_of(capsys, "samples/ipv4-healthcheck.yaml")
    dsl_form = graph_of(capsys, "samples/ipv4-healthcheck.lb")
    assert dsl_form == yaml_form.replace("ipv4-healthcheck.yaml", "ipv4-healthcheck.lb")


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_every_dot_golden_renders_with_graphviz(sample: Path) -> None:
    source = (GOLDEN / f"{sample.stem}.dot").read_text(encoding="utf-8")
    assert len(svg_nodes(svg_of(source))) == source.count(" [shape=")  # every node drawn, none more


def test_the_picture_has_what_the_issue_asks_for(capsys: pytest.CaptureFixture[str]) -> None:
    out = graph_of(capsys, str(SAMPLES / "options-and-group.yaml"), "--format", "dot")
    # The group and the datapaths it is attached to; the rows reach them only through it.
    assert 'gr1 [shape=folder, style="filled", fillcolor="#fff8e1", label="group net50-lbs"];' in out
    assert 'lb1 -> gr1 [label="member"];' in out and 'gr1 -> sw3 [label="attached"];' in out
    assert "lb1 -> sw" not in out
    # VIP -> backend -> its switch port -> the switch; the health check's probe source probes the port.
    for edge in ("lb1 -> ip1;", "ip1 -> be1;", "be1 -> pt1;", "pt1 -> sw1;"):
        assert edge in out
    assert 'ip1 -> src1 [label="health check every 5 s", style=dashed];' in out
    assert 'src1 -> pt1 [label="probes", style=dashed];' in out
    assert 'label="probe source 10.140.0.254"' in out
    ipv6 = graph_of(capsys, str(SAMPLES / "ipv6-healthcheck.yaml"), "--format", "dot")
    assert 'label="probe source fd42:1:2:3:75:b9ff:fe2e:adf4"' in ipv6
    assert 'label="backend dns1\\n[fd42:1:2:3::2]:53"' in ipv6


# -- hostile names: nothing breaks out of a label ------------------------------------------------

HOSTILE = [
    'a"b',
    "back\\slash\\N\\l",
    'x"]; evil [label="pwned',
    "line\nbreak\ttab\x1b[31m",
    "<b>bold</b>&amp;&lt;",
    "#quot; #35; %% %%{init}%%",
    "direction TB",
    "`md` **strong**",
    "a-->b|c|{d}(e)",
    "end",
    "style:#35;fill:#f00; classDef:#1;",
    "caf\u00e9 \u2028 \u00a0 \U0001f600",
]


def hostile_document(tmp_path: Path) -> Path:
    """One network whose every free-form name is hostile (names hold no
    whitespace, E207), and a description that is all of them, whitespace and all."""
    names = ["".join(text.split()) for text in HOSTILE]
    # A port's name holds no ":" either (E325: ip_port_mappings is "PORT:SOURCE").
    ports = [
        {"name": f"port{name.replace(':', '')}", "addresses": [f"10.0.0.{index + 2}"]}
        for index, name in enumerate(names)
    ]
    backends = [
        {"name": f"be{name}", "target_address": f"10.0.0.{index + 2}", "target_port": "8080"}
        for index, name in enumerate(names)
    ]
    data = {
        "version": 1,
        "networks": [
            {
                "name": "net" + names[2],
                "row_prefix": "prefix" + names[0],
                "router": "router" + names[1],
                "switch": "switch" + names[3],
                "attach_switches": [f"client{name}" for name in names[4:7]],
                "ipv4_address": "10.0.0.1/24",
                "switch_ports": ports,
                "load_balancers": [
                    {
                        "listen_address": "192.0.2.10",
                        "description": " | ".join(HOSTILE),
                        "config": {"healthcheck": "true"},
                        "backends": backends,
                        "ports": [
                            {"protocol": "tcp", "listen_port": "80", "target_backend": [b["name"] for b in backends]}
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def shown(text: str) -> str:
    """A value as a label shows it: control characters as visible escapes, all else as it is."""
    return escape_controls(text)


def expected_lines(path: Path) -> dict[str, list[str]]:
    """Each node's label lines, as every renderer must show them."""
    compilation = compile_files([str(path)])
    graph = build_graph(compilation.document, compilation.changes, [str(path)])
    return {node.id: [f"{c} {shown(v)}" if c and v else c or shown(v) for c, v in node.lines] for node in graph.nodes}


def test_hostile_names_stay_inside_dot_labels_and_graphviz_shows_them_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_document(tmp_path)
    out = graph_of(capsys, str(path), "--format", "dot")
    drawn = svg_nodes(svg_of(out))
    expected = expected_lines(path)
    assert drawn == expected  # no node more or less, every label line byte for byte
    assert any(line == "backend be" + "".join(HOSTILE[2].split()) for lines in drawn.values() for line in lines)


MERMAID_STATEMENT = re.compile(
    r"flowchart LR"
    r'|    %% [^\n"]*'
    r'|    subgraph net[0-9]+\["[^"]*"\]'
    r"|    end"
    r'|        [a-z]+[0-9]+(\{\{|\[\[|\[\(|\[|\(\[|\(|\[/|\(\()"[^"]*"(\}\}|\]\]|\)\]|\]|\]\)|\)|\\\]|\)\))'
    r'|    [a-z]+[0-9]+ (-->|-\.->)(\|"[^"]*"\|)? [a-z]+[0-9]+'
    r"|    classDef (online|offline|unknown) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}"
    r"|    class [a-z]+[0-9]+ (online|offline|unknown)"
)
MERMAID_NODE = re.compile(r'        ([a-z]+[0-9]+)[\[\(\{/]+"([^"]*)"')


def _decoded(label: str) -> list[str]:
    return [re.sub(r"#([0-9]+);", lambda m: chr(int(m.group(1))), line) for line in label.split("<br/>")]


def test_hostile_names_stay_inside_mermaid_labels_and_decode_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_document(tmp_path)
    out = graph_of(capsys, str(path), "--format", "mermaid")
    for line in out.splitlines():
        assert MERMAID_STATEMENT.fullmatch(line), line  # one statement of the renderer's few forms per line
        # Mermaid reads "direction TB" anywhere on a line as a statement: whitespace in values is encoded.
        assert not re.search(r"direction\s", line, re.IGNORECASE), line
        # ... and drops the last ";" of one holding style (or classDef), ":", "#" and ";".
        assert not re.search(r"(style|classDef).*:\S*#.*;", line) or line.startswith("    classDef"), line
        for label in re.findall(r'"([^"]*)"', line):
            assert not set(label.replace("<br/>", "")) & set("<>&`%\n\t\x1b"), label
            assert not re.search(r"#(?![0-9]+;)", label), label  # every # starts an entity code
    labels = {m.group(1): _decoded(m.group(2)) for m in map(MERMAID_NODE.match, out.splitlines()) if m}
    assert labels == expected_lines(path)


def test_the_escapers_on_their_own() -> None:
    assert dot_text('a"b\\c&d\ne') == 'a\\"b\\\\c&amp;d\\\\ne'
    assert mermaid_text('a "b"') == "a#32;#34;b#34;"
    assert mermaid_text("10.0.0.1:80 [fd00::1]:53") == "10.0.0.1:80#32;[fd00::1]:53"
    assert mermaid_text("\x1b") == "#92;u001b"  # shown as the visible escape \u001b
    assert mermaid_text("style:#1;") == "#115;tyle:#35;1#59;"


# -- with --db: the monitors' status from a real OVN ----------------------------------------------


def set_status(ovn: Sandbox, statuses: dict[str, str]) -> None:
    """What ovn-controller's probes would have written, by backend address."""
    listing = json.loads(ovn.sbctl("--format=json", "--columns=_uuid,ip", "list", "Service_Monitor"))
    assert {ip for _, ip in listing["data"]} >= set(statuses)
    for (_, uuid), ip in listing["data"]:
        if ip in statuses:
            ovn.sbctl("set", "Service_Monitor", uuid, f"status={statuses[ip]}")


def applied(ovn: Sandbox, sample: Path = SAMPLE) -> None:
    document = compile_files([str(sample)]).document
    build_topology(ovn, document)
    set_ports_up(ovn, [port.name for network in document.networks for port in network.switch_ports])
    assert main(["apply", str(sample), "--db", ovn.nb_remote, "--wait=sb"]) == 0
    ovn.sync()


def test_with_db_the_backends_are_coloured_by_their_monitor(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(ovn)
    set_status(ovn, {"10.135.209.2": "online", "10.135.209.3": "offline"})  # web3: no result yet
    live = ["--db", ovn.nb_remote, "--sb", ovn.sb_remote]
    monkeypatch.chdir(ROOT)
    out = graph_of(capsys, "samples/ipv4-healthcheck.yaml", *live)
    # docs/graph.md shows this very picture.
    documented = re.search(r"```mermaid\n(.*?)```", (ROOT / "docs" / "graph.md").read_text(encoding="utf-8"), re.S)
    assert documented is not None
    assert out == documented.group(1).replace("unix:/var/run/ovn/ovnsb_db.sock", ovn.sb_remote)
    assert '("backend web1<br/>10.135.209.2:8080<br/>monitor online")' in out
    assert '("backend web2<br/>10.135.209.3:8080<br/>monitor offline")' in out
    assert '("backend web3<br/>10.135.209.4:8080<br/>monitor: no status yet")' in out
    assert out.endswith("    class be1 online\n    class be2 offline\n    class be3 unknown\n")
    assert f"    %% ovn-lbc graph of samples/ipv4-healthcheck.yaml; monitor status from {ovn.sb_remote}\n" in out
    dot = graph_of(capsys, str(SAMPLE), *live, "--format", "dot")
    assert 'be2 [shape=box, style="rounded,filled", fillcolor="#ffcdd2", color="#c62828"' in dot
    assert len(svg_nodes(svg_of(dot))) == dot.count(" [shape=")
    # $OVN_SB_DB is --sb's default, and "error" is drawn as offline.
    set_status(ovn, {"10.135.209.2": "error"})
    monkeypatch.setenv("OVN_SB_DB", ovn.sb_remote)
    assert "monitor error" in graph_of(capsys, str(SAMPLE), "--db", ovn.nb_remote)


def test_with_db_switch_ports_come_from_the_database(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied(ovn)
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    del data["networks"][0]["switch_ports"]
    portless = tmp_path / "portless.yaml"
    portless.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["graph", str(portless)]) == 1  # offline there is nowhere to find them (E312)
    assert "error[E312]" in capsys.readouterr().err
    out = graph_of(capsys, str(portless), "--db", ovn.nb_remote, "--sb", ovn.sb_remote)
    assert 'pt1[/"port incus-net49-instance-22be9150-eth0"\\]' in out and "be1 --> pt1" in out


def test_graph_errors_are_one_line_with_their_exit_status(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = ROOT / "tests" / "golden" / "errors" / "many-errors.yaml"
    assert graph_of(capsys, str(broken), code=1) == ""
    cases = [
        (["--sb", ovn.sb_remote], 2, "--sb goes with --db"),
        (["--db", "tcp:nowhere"], 2, "--db: remote 'tcp:nowhere': expected tcp:HOST:PORT"),
        (["--db", ovn.nb_remote, "--sb", "udp:x"], 2, "--sb: remote 'udp:x'"),
        (["--db", f"unix:{tmp_path / 'none.sock'}"], 3, "none.sock"),
        (["--db", ovn.nb_remote, "--sb", f"unix:{tmp_path / 'none.sock'}"], 3, "none.sock"),
        (["--db", ovn.sb_remote, "--sb", ovn.sb_remote], 3, "OVN_Northbound"),
    ]
    for extra, code, words in cases:
        capsys.readouterr()
        assert main(["graph", str(SAMPLE), *extra]) == code, extra
        captured = capsys.readouterr()
        assert captured.out == "" and words in captured.err and captured.err.count("\n") == 1, captured.err


# -- a Southbound peer that sends what OVN would not ---------------------------------------------------


def southbound(rows: Any) -> Callable[[Session], None]:
    """A standalone server whose Service_Monitor select answers ``rows``."""

    def behaviour(session: Session) -> None:
        while (request := session.request()) is not None:
            params = request.get("params") or [None]
            if params[0] == "_Server":
                session.send({"id": request["id"], "result": None, "error": {"error": "unknown database"}})
            elif request.get("method") == "transact":
                session.send(answer(request, [{"rows": rows}]))

    return behaviour


def monitor(ip: str, status: Any, port: Any = 8080) -> dict[str, Any]:
    port_name = "incus-net49-instance-22be9150-eth0"
    return {"ip": ip, "port": port, "protocol": "tcp", "logical_port": port_name, "status": status}


def test_a_southbound_peer_can_neither_inject_nor_crash(ovn: Sandbox, tmp_path: Path) -> None:
    applied(ovn)
    hostile = 'online"]\n    x --> y\n    click be1 "javascript:alert(1)"'
    fake = FakePeer(tmp_path / "sb.sock", southbound([monitor("10.135.209.2", hostile)])).start()
    try:
        result = run_cli("graph", str(SAMPLE), "--db", ovn.nb_remote, "--sb", fake.remote)
    finally:
        fake.stop()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(MERMAID_STATEMENT.fullmatch(line) for line in lines), result.stdout
    assert "    class be1 unknown" in lines  # not "online": the status is the peer's whole string
    for rows, words in (
        ([monitor("10.135.209.2", "online", port="80")], "port is '80', not a port number"),
        ([monitor("10.135.209.2", ["set", ["a", "b"]])], "status is ['set', ['a', 'b']], not a string"),
        (["row"], "a Service_Monitor row is 'row', not an object"),
        ({"not": "rows"}, "not the rows of one select"),
    ):
        fake = FakePeer(tmp_path / "bad.sock", southbound(rows)).start()
        try:
            result = run_cli("graph", str(SAMPLE), "--db", ovn.nb_remote, "--sb", fake.remote)
        finally:
            fake.stop()
            (tmp_path / "bad.sock").unlink()
        assert_one_line(result, 3, "cannot read the Southbound Service_Monitor table", words)
        assert result.stdout == ""


def test_a_silent_southbound_is_bounded_by_timeout(ovn: Sandbox, tmp_path: Path) -> None:
    applied(ovn)
    fake = FakePeer(tmp_path / "sb.sock", lambda session: session.idle()).start()
    try:
        result = run_cli("graph", str(SAMPLE), "--db", ovn.nb_remote, "--sb", fake.remote, "--timeout", "2", timeout=30)
    finally:
        fake.stop()
    assert_one_line(result, 3, fake.remote)


def test_the_command_line_offers_every_format() -> None:
    from compiler import cli
    from compiler.emit.graph import FORMATS

    assert cli.GRAPH_FORMATS == FORMATS
