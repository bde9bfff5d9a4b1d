"""`ovn-lbc import --from keepalived|ipvsadm`: the corpus imports, its warnings
line by line, the output compiles and applies to a real OVN; every syntax
error is located; every K code has an input that makes it.

tests/corpus/keepalived/ holds realistic keepalived.conf files and ipvsadm
rules (each says what it is and where its syntax is documented) and
network.yaml, the OVN network their real servers are on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.codes import CODES
from compiler.diagnostics import CompileError
from compiler.importers.run import Imported, import_file
from compiler.sandbox import Sandbox, build_topology

from .helpers import dump_table

CORPUS = Path(__file__).parent / "corpus" / "keepalived"
NETWORK = str(CORPUS / "network.yaml")

# (file, --from, exit status, every diagnostic as (code, file, line, column)).
CORPUS_CASES: list[tuple[str, str, int, list[tuple[str, str, int, int]]]] = [
    ("dr-round-robin.conf", "keepalived", 0, [("K002", "dr-round-robin.conf", 8, 13)]),
    ("tcp-check.conf", "keepalived", 0, []),
    ("dns.conf", "keepalived", 0, []),
    (
        "persistence.conf",
        "keepalived",
        0,
        [("K007", "persistence.conf", 7, 25), ("K007", "persistence.conf", 8, 5)],
    ),
    ("source-hash.conf", "keepalived", 0, []),
    (
        "weights.conf",
        "keepalived",
        4,
        [("K003", "weights.conf", 5, 13), ("K004", "weights.conf", 13, 16), ("K013", "weights.conf", 16, 16)],
    ),
    ("http-get.conf", "keepalived", 0, [("K005", "http-get.conf", 11, 9), ("K005", "http-get.conf", 23, 9)]),
    (
        "sorry-server.conf",
        "keepalived",
        0,
        [("K010", "sorry-server.conf", 9, 5), ("K008", "sorry-server.conf", 10, 5)],
    ),
    ("fwmark.conf", "keepalived", 4, [("K009", "fwmark.conf", 3, 1), ("K013", "fwmark.conf", 19, 17)]),
    ("group-range.conf", "keepalived", 0, []),
    ("include-main.conf", "keepalived", 0, []),
    ("vrrp.conf", "keepalived", 0, [("K011", "vrrp.conf", 11, 1), ("K002", "vrrp.conf", 29, 13)]),
    ("ipvsadm-save.txt", "ipvsadm", 0, [("K003", "ipvsadm-save.txt", 5, 28)]),
    ("dr-round-robin.sh", "ipvsadm", 0, [("K002", "dr-round-robin.sh", 10, 53)]),
]


def imported(name: str, source: str = "keepalived", **options: Any) -> Imported:
    return import_file(source, str(CORPUS / name), network_path=NETWORK, **options)


def located(diagnostics: Any) -> list[tuple[str, str, int, int]]:
    return [(d.code, Path(d.span.file).name, d.span.line, d.span.column) for d in diagnostics]


def write_import(tmp_path: Path, name: str, source: str, to: str = "yaml", *extra: str) -> tuple[int, Path]:
    out = tmp_path / f"{Path(name).stem}.{'lb' if to == 'dsl' else 'yaml'}"
    status = main(
        ["import", "--from", source, str(CORPUS / name), "--network", NETWORK, "--to", to, "-o", str(out), *extra]
    )
    return status, out


@pytest.mark.parametrize(("name", "source", "status", "expected"), CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_the_corpus_imports_with_its_warnings_line_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, source: str, status: int, expected: list[Any]
) -> None:
    assert located(imported(name, source).warnings) == expected
    for to in ("yaml", "dsl"):
        assert write_import(tmp_path, name, source, to)[0] == status
        stderr = capsys.readouterr().err
        for code, file, line, column in expected:
            assert f"{file}:{line}:{column}: warning[{code}]" in stderr
        assert stderr.splitlines()[-1].startswith("ovn-lbc: import: ")
    # What is written is a complete ovn-lbc file: both forms compile, to the same rows.
    yaml_rows = compile_files([str(tmp_path / f"{Path(name).stem}.yaml")]).changes.rows
    dsl_rows = compile_files([str(tmp_path / f"{Path(name).stem}.lb")]).changes.rows
    assert yaml_rows == dsl_rows and yaml_rows


def model(name: str, source: str = "keepalived") -> dict[str, Any]:
    document = compile_files([str(_written(name, source))]).document
    return {str(lb.listen_address): lb for network in document.networks for lb in network.load_balancers}


def _written(name: str, source: str) -> Path:
    path = Path(__import__("tempfile").mkdtemp()) / "imported.yaml"
    path.write_text(imported(name, source).text, encoding="utf-8")
    return path


def test_checker_timing_becomes_the_health_check() -> None:
    """delay_loop -> interval, connect_timeout -> timeout, retry 2 -> failure_count 3
    (keepalived takes a server down after its first failure and 2 retries), success 1."""
    (lb,) = model("tcp-check.conf").values()
    check = lb.health_check
    assert (check.interval, check.timeout, check.success_count, check.failure_count) == (5, 3, 1, 3)
    assert [
        (b.name, str(b.target_address), str(b.target_ports[0]) if b.target_ports else None) for b in lb.backends
    ] == [
        ("web1", "192.168.10.11", None),
        ("web3", "192.168.10.13", "8080"),
    ]


def test_tcp_and_udp_on_one_vip_are_one_load_balancer() -> None:
    (lb,) = model("dns.conf").values()
    assert [(p.protocol, str(p.listen_ports[0])) for p in lb.ports] == [("udp", "53"), ("tcp", "53")]
    assert lb.health_check is not None and lb.health_check.timeout == 4


def test_persistence_sh_sorry_and_groups() -> None:
    assert model("persistence.conf")["203.0.113.60"].options.affinity_timeout == 65535
    hashed = model("source-hash.conf")
    assert hashed["203.0.113.70"].options.selection_fields == ("ip_src",)
    assert hashed["203.0.113.71"].options.selection_fields == ("ip_src", "tp_src")
    assert model("sorry-server.conf")["203.0.113.100"].options.reject
    groups = model("group-range.conf")
    assert sorted(groups) == ["203.0.113.120", "203.0.113.121", "203.0.113.122", "203.0.113.130"]
    assert [str(b.target_ports[0]) for b in groups["203.0.113.130"].backends] == ["80", "80"]
    assert list(model("include-main.conf")) == ["203.0.113.140"]
    saved = model("ipvsadm-save.txt", "ipvsadm")
    assert saved["203.0.113.150"].options.affinity_timeout == 300
    assert [str(b.target_address) for b in saved["fd00:10::100"].backends] == ["fd00:10::11", "fd00:10::12"]


def test_weight_zero_is_left_out() -> None:
    (lb,) = model("weights.conf").values()
    assert [b.name for b in lb.backends] == ["web1", "web2"]


def test_strict_refuses_what_ovn_does_differently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = write_import(tmp_path, "dr-round-robin.sh", "ipvsadm", "yaml", "--strict")
    assert status == 1 and not out.exists()
    err = capsys.readouterr().err
    assert "dr-round-robin.sh:10:53: error[K002]" in err
    assert err.splitlines()[-1] == "ovn-lbc: 1 error; nothing was written"


def test_import_needs_from_and_network(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(CORPUS / "dns.conf"), "--network", NETWORK]) == 2
    assert "--from keepalived or --from ipvsadm" in capsys.readouterr().err
    assert main(["import", "--from", "keepalived", str(CORPUS / "dns.conf")]) == 2
    assert "needs FILE and --network NETFILE" in capsys.readouterr().err


# -- errors: located, all at once ----------------------------------------------------------


def problems(tmp_path: Path, text: str, source: str = "keepalived", name: str = "k.conf") -> list[tuple[str, int, int]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    try:
        diagnostics = import_file(source, str(path), network_path=NETWORK).warnings
    except CompileError as exc:
        diagnostics = tuple(exc.diagnostics)
    return [(d.code, d.span.line, d.span.column) for d in diagnostics if Path(d.span.file).name == name]


VS = "virtual_server 203.0.113.10 80 {{\n    lvs_sched rr\n{body}}}\n"
RS = "    real_server 192.168.10.11 80 {{\n{body}    }}\n"

# (what, text, --from, every diagnostic (code, line, column) of the file)
ERROR_CASES: list[tuple[str, str, str, list[tuple[str, int, int]]]] = [
    ("stray brace", "}\n", "keepalived", [("E100", 1, 1)]),
    ("unclosed block", "virtual_server 203.0.113.10 80 {\n", "keepalived", [("E100", 1, 32)]),
    ("brace without keyword", "{\n}\n", "keepalived", [("E100", 1, 1)]),
    ("unclosed quote", VS.format(body='    lb_algo "rr\n'), "keepalived", [("E100", 3, 13)]),
    ("bad address", "virtual_server 203.0.113.300 80 {\n}\n", "keepalived", [("E200", 1, 16)]),
    ("bad port", "virtual_server 203.0.113.10 http {\n}\n", "keepalived", [("E203", 1, 29)]),
    ("bad protocol", VS.format(body="    protocol ICMP\n"), "keepalived", [("E204", 3, 14)]),
    ("bad number", VS.format(body="    delay_loop soon\n"), "keepalived", [("E100", 3, 16)]),
    ("bad method", VS.format(body="    lb_kind BRIDGE\n"), "keepalived", [("E100", 3, 13)]),
    ("unknown group", "virtual_server group NOPE {\n}\n", "keepalived", [("E100", 1, 22)]),
    ("bad range", "virtual_server_group G {\n  10.0.0.9-3 80\n}\n", "keepalived", [("E200", 2, 3)]),
    ("parameter", "$VIP=203.0.113.10\n", "keepalived", [("K016", 1, 1)]),
    ("parameter use", "virtual_server $VIP 80 {\n}\n", "keepalived", [("K016", 1, 16)]),
    ("condition", "@main virtual_server 203.0.113.10 80 {\n}\n", "keepalived", [("K016", 1, 1)]),
    (
        "three at once",
        "virtual_server 203.0.113.300 80 {\n    protocol ICMP\n    weight x\n}\n}\n",
        "keepalived",
        [("E200", 1, 16), ("E204", 2, 14), ("K001", 3, 5), ("E100", 5, 1)],
    ),
    ("unknown option", "ipvsadm -A -t 203.0.113.10:80 --frobnicate\n", "ipvsadm", [("E100", 1, 31)]),
    ("host name", "-A -t www.example.com:http -s rr\n", "ipvsadm", [("E200", 1, 7)]),
    ("service name", "-A -t 203.0.113.10:http -s rr\n", "ipvsadm", [("E203", 1, 20)]),
    ("no service", "ipvsadm -A -s rr\n", "ipvsadm", [("E100", 1, 9)]),
    ("shell variable", "ipvsadm -A -t $VIP:80\n", "ipvsadm", [("K016", 1, 15)]),
    ("two commands", "ipvsadm -A -a -t 203.0.113.10:80\n", "ipvsadm", [("E100", 1, 12)]),
    ("missing value", "ipvsadm -A -t\n", "ipvsadm", [("E100", 1, 12)]),
    ("unclosed shell quote", "ipvsadm -A -t '203.0.113.10:80\n", "ipvsadm", [("E100", 1, 15)]),
]


@pytest.mark.parametrize(("what", "text", "source", "expected"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_syntax_errors_are_located(tmp_path: Path, what: str, text: str, source: str, expected: list[Any]) -> None:
    assert problems(tmp_path, text, source) == expected


def test_an_error_is_printed_with_its_caret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text("virtual_server 203.0.113.10 80 {\n    protocol ICMP\n}\n", encoding="utf-8")
    assert main(["import", "--from", "keepalived", str(path), "--network", NETWORK]) == 1
    assert capsys.readouterr().err == (
        f"{path}:2:14: error[E204]: protocol is TCP, UDP or SCTP\n"
        " 2 |     protocol ICMP\n"
        "   |              ^\n"
        "ovn-lbc: 1 error; nothing was written\n"
    )


# -- includes ----------------------------------------------------------------------------


def test_include_cycles_depth_and_no_match(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("include b.conf\n", encoding="utf-8")
    (tmp_path / "b.conf").write_text("\ninclude a.conf\n", encoding="utf-8")
    try:
        import_file("keepalived", str(tmp_path / "a.conf"), network_path=NETWORK)
    except CompileError as exc:
        assert [(d.code, Path(d.span.file).name, d.span.line, d.span.column) for d in exc.diagnostics] == [
            ("K015", "b.conf", 2, 9)
        ]
        assert "include cycle: a.conf -> b.conf -> a.conf" in exc.render()
    else:  # pragma: no cover
        pytest.fail("a cycle must be an error")
    chain = tmp_path / "chain"
    chain.mkdir()
    for number in range(20):
        (chain / f"{number}.conf").write_text(f"include {number + 1}.conf\n", encoding="utf-8")
    with pytest.raises(CompileError, match="nested more than 16 deep"):
        import_file("keepalived", str(chain / "0.conf"), network_path=NETWORK)
    assert problems(tmp_path, "include none-*.conf\n" + VS.format(body=RS.format(body=""))) == [("K014", 1, 9)]


def test_includes_are_relative_to_the_including_file_with_braces(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "main.conf").write_text("include sub/{one,two}.conf\n", encoding="utf-8")
    (tmp_path / "sub" / "one.conf").write_text("include deeper/*.conf\n", encoding="utf-8")
    (tmp_path / "sub" / "two.conf").write_text(
        VS.format(body=RS.format(body="")).replace("203.0.113.10", "203.0.113.12"), encoding="utf-8"
    )
    (tmp_path / "sub" / "deeper" / "x.conf").write_text(VS.format(body=RS.format(body="")), encoding="utf-8")
    result = import_file("keepalived", str(tmp_path / "main.conf"), network_path=NETWORK)
    assert result.load_balancers == 2 and not result.warnings
    assert result.text.index("203.0.113.10") < result.text.index("203.0.113.12")


# -- every K code has an input ---------------------------------------------------------------

# (code, text, --from, the line of the finding)
K_CASES: list[tuple[str, str, str, int]] = [
    ("K001", VS.format(body=RS.format(body="        notify_down /bin/true\n")), "keepalived", 4),
    ("K002", VS.format(body="    lvs_method TUN\n" + RS.format(body="")), "keepalived", 3),
    ("K003", VS.format(body="    lvs_sched lc\n" + RS.format(body="")), "keepalived", 3),
    (
        "K004",
        VS.format(body=RS.format(body="        weight 2\n") + RS.format(body="").replace(".11", ".12")),
        "keepalived",
        6,
    ),
    ("K005", VS.format(body=RS.format(body="        MISC_CHECK {\n        }\n")), "keepalived", 4),
    (
        "K006",
        VS.format(body=RS.format(body="        TCP_CHECK {\n            bindto 10.0.0.1\n        }\n")),
        "keepalived",
        5,
    ),
    ("K007", VS.format(body="    persistence_engine sip\n" + RS.format(body="")), "keepalived", 3),
    ("K008", VS.format(body="    sorry_server 192.168.10.99 80\n" + RS.format(body="")), "keepalived", 3),
    ("K009", "ipvsadm -A -f 1 -s rr\n", "ipvsadm", 1),
    ("K010", VS.format(body=RS.format(body="        uthreshold 100\n")), "keepalived", 4),
    ("K011", "ipvsadm --start-daemon master\n", "ipvsadm", 1),
    ("K012", VS.format(body=RS.format(body="").replace("192.168.10.11", "172.16.0.5")), "keepalived", 1),
    ("K013", "ipvsadm -a -t 203.0.113.10:80 -r 192.168.10.11:80\n", "ipvsadm", 1),
    ("K014", "include missing.conf\n", "keepalived", 1),
    ("K015", "include k.conf\n", "keepalived", 1),
    ("K016", "#!/bin/sh\n$IPVSADM -A -t 203.0.113.10:80\n", "ipvsadm", 2),
    (
        "K017",
        VS.format(body=RS.format(body="        TCP_CHECK {\n        }\n").replace(".11", ".41")),
        "keepalived",
        3,
    ),
]


@pytest.mark.parametrize(("code", "text", "source", "line"), K_CASES, ids=[c[0] for c in K_CASES])
def test_each_k_code_points_at_its_line(tmp_path: Path, code: str, text: str, source: str, line: int) -> None:
    found = problems(tmp_path, text, source)
    assert code in [c for c, _, _ in found], found
    assert line in [found_line for c, found_line, _ in found if c == code]


def test_every_k_code_has_an_input() -> None:
    tested = {code for code, _, _, _ in K_CASES}
    assert tested == {code for code in CODES if code.startswith("K")}


# -- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{" * 20_000,
        "}" * 5_000,
        '"' * 10_001,
        "virtual_server_group G {\n 10.0.0.0/8 80\n}\nvirtual_server group G {\n}\n",
        "virtual_server " + "x" * 1_000_000 + "\n",
        "\x00\x1b[31m{ }\r\n\r",
    ],
)
def test_hostile_keepalived_files_end_in_diagnostics(tmp_path: Path, text: str) -> None:
    for source in ("keepalived", "ipvsadm"):
        path = tmp_path / "hostile.conf"
        path.write_text(text, encoding="utf-8")
        try:
            import_file(source, str(path), network_path=NETWORK)
        except CompileError as exc:
            assert exc.diagnostics


def test_group_expansion_is_bounded(tmp_path: Path) -> None:
    ranges = "".join(f"  10.{n}.0.0-10.{n}.15.255 80\n" for n in range(4))
    text = f"virtual_server_group G {{\n{ranges}}}\n"
    assert ("E200", 4, 3) in problems(tmp_path, text)  # 3 x 4096 addresses: more than 10,000


# -- a real OVN ---------------------------------------------------------------------------------


def apply_imported(ovn: Sandbox, tmp_path: Path, name: str, source: str) -> dict[str, dict[str, Any]]:
    status, out = write_import(tmp_path, name, source)
    assert status in (0, 4)
    build_topology(ovn, compile_files([str(out)]).document)
    assert main(["apply", str(out), "--db", ovn.nb_remote]) == 0
    checks = {row["_uuid"]: row for row in dump_table(ovn, "Load_Balancer_Health_Check")}
    rows = {}
    for row in dump_table(ovn, "Load_Balancer"):
        uuids = row["health_check"]  # a one-element set is the bare uuid
        row["checks"] = [
            (checks[u]["vip"], checks[u]["options"]) for u in ([uuids] if isinstance(uuids, str) else uuids)
        ]
        rows[row["name"]] = row
    return rows


def test_imported_files_apply_to_a_real_ovn(ovn: Sandbox, tmp_path: Path) -> None:
    rows = apply_imported(ovn, tmp_path, "dr-round-robin.sh", "ipvsadm")
    assert {name: row["vips"] for name, row in rows.items()} == {
        "lvs-lb-192.168.10.100-tcp": {"192.168.10.100:80": "192.168.10.11:80,192.168.10.12:80"}
    }
    rows = apply_imported(ovn, tmp_path, "tcp-check.conf", "keepalived")
    (row,) = rows.values()
    assert row["vips"] == {"203.0.113.10:80": "192.168.10.11:80,192.168.10.13:8080"}
    assert row["checks"] == [
        ("203.0.113.10:80", {"interval": "5", "timeout": "3", "success_count": "1", "failure_count": "3"})
    ]
    assert row["ip_port_mappings"] == {
        "192.168.10.11": "web1:192.168.10.254",
        "192.168.10.13": "web3:192.168.10.254",
    }
    rows = apply_imported(ovn, tmp_path, "dns.conf", "keepalived")
    assert sorted(rows) == ["lvs-lb-203.0.113.53-tcp", "lvs-lb-203.0.113.53-udp"]
    assert rows["lvs-lb-203.0.113.53-udp"]["protocol"] == "udp"
    assert rows["lvs-lb-203.0.113.53-udp"]["checks"][0][1]["timeout"] == "4"
    rows = apply_imported(ovn, tmp_path, "sorry-server.conf", "keepalived")
    assert rows["lvs-lb-203.0.113.100-tcp"]["options"] == {"reject": "true"}
    rows = apply_imported(ovn, tmp_path, "source-hash.conf", "keepalived")
    assert rows["lvs-lb-203.0.113.71-tcp"]["selection_fields"] == ["ip_src", "tp_src"]
    rows = apply_imported(ovn, tmp_path, "ipvsadm-save.txt", "ipvsadm")
    assert rows["lvs-lb-203.0.113.150-tcp"]["options"] == {"affinity_timeout": "300"}
    assert rows["lvs-lb-fd00:10::100-tcp"]["vips"] == {"[fd00:10::100]:80": "[fd00:10::11]:80,[fd00:10::12]:80"}


def test_switch_ports_found_in_the_database(ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--db: a network file with no switch_ports; the ports come from the database, by address."""
    build_topology(ovn, compile_files([NETWORK]).document)
    bare = tmp_path / "bare.yaml"
    text = Path(NETWORK).read_text(encoding="utf-8")
    bare.write_text(text[: text.index("    switch_ports:")], encoding="utf-8")
    out = tmp_path / "out.yaml"
    args = ["import", "--from", "keepalived", str(CORPUS / "tcp-check.conf"), "--network", str(bare), "-o", str(out)]
    assert main(args) == 4  # without --db the health check is left out
    assert "warning[K017]" in capsys.readouterr().err
    assert main([*args, "--db", ovn.nb_remote]) == 0
    (lb,) = [lb for network in compile_files([str(out)]).document.networks for lb in network.load_balancers]
    assert lb.health_check is not None and [b.name for b in lb.backends] == ["web1", "web3"]
    assert (
        main(["import", "--from", "keepalived", str(CORPUS / "dns.conf"), "--network", NETWORK, "--db", "tcp:x:0"]) == 2
    )


def test_ipvsadm_save_from_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`ipvsadm -S -n | ovn-lbc import --from ipvsadm - ...`: diagnostics name <stdin>."""
    import io

    text = "-A -t 203.0.113.10:80 -s lc\n-a -t 203.0.113.10:80 -r 192.168.10.11:80 -m -w 1\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["import", "--from", "ipvsadm", "-", "--network", NETWORK, "--to", "dsl"]) == 0
    captured = capsys.readouterr()
    assert "tcp 80 -> web1" in captured.out
    assert "<stdin>:1:26: warning[K003]: scheduler lc is not imported" in captured.err


def test_virtual_server_timing_applies_wherever_it_is_written(tmp_path: Path) -> None:
    """keepalived applies a virtual server's defaults after reading its block:
    delay_loop after the real servers still is their checkers' interval."""
    path = tmp_path / "late.conf"
    checker = "        TCP_CHECK {\n            retry 0\n        }\n"
    path.write_text(VS.format(body=RS.format(body=checker) + "    delay_loop 7\n    connect_timeout 2\n"), "utf-8")
    result = import_file("keepalived", str(path), network_path=NETWORK)
    assert (
        "health-check interval 7s timeout 2s success 1 failure 1"
        in import_file("keepalived", str(path), network_path=NETWORK, output_format="dsl").text
    )
    assert not result.warnings
