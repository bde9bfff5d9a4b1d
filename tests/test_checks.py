"""Every diagnostic code has a failing input here; ``#!`` marks the line it must point at."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.cli import main
from compiler.codes import CODES

from .helpers import errors_of

NET = """\
networks:
  - name: n1
    row_prefix: p1
    router: r1
    switch: s1
    ipv4_address: 10.0.0.1/24
    switch_ports:
      - {name: lsp2, addresses: [10.0.0.2]}
      - {name: lsp3, addresses: [10.0.0.3]}
"""


def lb(body: str = "", config: str = "{}", backends: str | None = None, ports: str | None = None) -> str:
    backends = backends if backends is not None else "[{name: b2, target_address: 10.0.0.2}]"
    ports = ports if ports is not None else '[{protocol: tcp, listen_port: "80", target_backend: [b2]}]'
    return (
        NET
        + "    load_balancers:\n"
        + "      - listen_address: 192.0.2.10\n"
        + f"        config: {config}\n"
        + f"        backends: {backends}\n"
        + f"        ports: {ports}\n"
        + body
    )


# LXD: the switch ports are instances' NICs, and a pool of both serves port 80.
POOL_NET = NET.replace("[10.0.0.2]}", "[10.0.0.2], instance: i2}").replace("[10.0.0.3]}", "[10.0.0.3], instance: i3}")
WEB_POOL = '{name: web, config: {target_port: "80", healthcheck: "false"}, instances: [{name: i2}, {name: i3}]}'
CHECKED_POOL = WEB_POOL.replace(', healthcheck: "false"', "")


def pooled(pools: str = f"[{WEB_POOL}]", ports: str = "", config: str = "{}", backends: str = "[]") -> str:
    """A network with pools and one load balancer whose port entries name them."""
    ports = ports or '[{protocol: tcp, listen_port: "80", target_pool: web}]'
    return (
        POOL_NET
        + f"    load_balancer_pools: {pools}\n"
        + "    load_balancers:\n"
        + "      - listen_address: 192.0.2.10\n"
        + f"        config: {config}\n"
        + f"        backends: {backends}\n"
        + f"        ports: {ports}\n"
    )


CASES: list[tuple[str, str, str]] = [
    ("E100", "yaml syntax", NET + "    forwards: x: y #!\n"),
    ("E100", "json syntax", '{"networks": [\n  {"name": "n1",, #!\n'),
    ("E101", "json duplicate key", '{"networks": [],\n "networks": [] #!\n}'),
    ("E101", "duplicate key", NET + "    router: r2 #!\n"),
    ("E102", "unknown key", NET + "    routr: r2 #!\n"),
    ("E102", "unknown lb key", lb("        portz: [] #!\n")),
    (
        "E103",
        "missing key",
        "networks:\n  - name: n1 #!\n    router: r1\n    switch: s1\n    ipv4_address: 10.0.0.1/24\n",
    ),
    ("E104", "wrong type", NET.replace("switch: s1", "switch: [s1] #!")),
    ("E104", "bad version", "version: 2 #!\n" + NET),
    ("E105", "unknown config key", lb(config="{healthcheck.intervall: '5'} #!")),
    (
        "E200",
        "bad listen address",
        lb().replace("listen_address: 192.0.2.10", "listen_address: 192.0.2.300 #!"),
    ),
    ("E200", "bad backend address", lb(backends="[{name: b2, target_address: 10.0.0.x}] #!")),
    ("E201", "bad gateway", NET.replace("10.0.0.1/24", "10.0.0.1 #!")),
    ("E201", "gateway is network address", NET.replace("10.0.0.1/24", "10.0.0.0/24 #!")),
    ("E202", "bad mac", NET + '    router_mac: "02:75:b9" #!\n'),
    (
        "E203",
        "port out of range",
        lb(ports='[{protocol: tcp, listen_port: "80,70000", target_backend: [b2]}] #!'),
    ),
    (
        "E203",
        "range backwards",
        lb(ports='[{protocol: tcp, listen_port: "90-80", target_backend: [b2]}] #!'),
    ),
    (
        "E203",
        "port zero",
        lb(backends='[{name: b2, target_address: 10.0.0.2, target_port: "0"}] #!'),
    ),
    (
        "E203",
        "garbage port",
        lb(ports='[{protocol: tcp, listen_port: "http", target_backend: [b2]}] #!'),
    ),
    (
        "E204",
        "bad protocol",
        lb(ports='[{protocol: icmp, listen_port: "80", target_backend: [b2]}] #!'),
    ),
    ("E205", "bad interval", lb(config="{healthcheck: 'true', healthcheck.interval: 'soon'} #!")),
    ("E205", "interval above a C int", lb(config="{healthcheck: 'true', healthcheck.interval: '2147483648'} #!")),
    ("N001", "interval 0 is the default", lb(config="{healthcheck: 'true', healthcheck.interval: '0'} #!")),
    (
        "E205",
        "negative count",
        lb(config="{healthcheck: 'true', healthcheck.failure_count: '-1'} #!"),
    ),
    ("E206", "bad boolean", lb(config="{healthcheck: 'maybe'} #!")),
    ("E207", "backend name with space", lb(backends="[{name: b 2, target_address: 10.0.0.2}] #!")),
    ("E208", "NUL in description", lb('        description: "a\\0b" #!\n')),
    (
        "E300",
        "network twice",
        NET + NET.replace("networks:\n", "").replace("- name: n1", "- name: n1 #!"),
    ),
    (
        "E301",
        "lb and forward share listen address",
        lb("    forwards:\n      - listen_address: 192.0.2.10 #!\n        config: {target_address: 10.0.0.3}\n"),
    ),
    (
        "E315",
        "row names collide across networks",
        lb()
        + NET.replace("networks:\n", "").replace("name: n1", "name: n2").replace("switch: s1", "switch: s2")
        + "    forwards:\n      - listen_address: 192.0.2.10 #!\n        config: {target_address: 10.0.0.3}\n",
    ),
    (
        "E315",
        "default targets collide on a shared router",
        NET
        + "    forwards:\n      - listen_address: 192.0.2.20\n        config: {target_address: 10.0.0.3}\n"
        + NET.replace("networks:\n", "").replace("name: n1", "name: n2").replace("row_prefix: p1", "row_prefix: p2")
        + "    forwards:\n      - listen_address: 192.0.2.20\n        config: {target_address: 10.0.0.2} #!\n",
    ),
    (
        "W005",
        "no ports yet",
        lb(ports="[]").replace("listen_address: 192.0.2.10", "listen_address: 192.0.2.10 #!"),
    ),
    ("E302", "default target on a load balancer", lb(config="{target_address: 10.0.0.3} #!")),
    (
        "E303",
        "sctp health check",
        lb(
            config="{healthcheck: 'true'}",
            ports='[{protocol: sctp, listen_port: "80", target_backend: [b2]}] #!',
        ),
    ),
    ("E304", "backend uses reserved", lb(backends="[{name: b2, target_address: 10.0.0.254}] #!")),
    (
        "E304",
        "listen uses reserved",
        lb().replace("listen_address: 192.0.2.10", "listen_address: 10.0.0.254 #!"),
    ),
    ("E304", "gateway is reserved", NET.replace("10.0.0.1/24", "10.0.0.254/24 #!")),
    (
        "E304",
        "switch port uses reserved",
        NET.replace("addresses: [10.0.0.3]}", "addresses: [10.0.0.254]} #!"),
    ),
    ("E305", "family mismatch", lb(backends='[{name: b2, target_address: "fd00::2"}] #!')),
    ("E306", "outside subnet", lb(backends="[{name: b2, target_address: 10.0.1.2}] #!")),
    ("E307", "broadcast target", lb(backends="[{name: b2, target_address: 10.0.0.255}] #!")),
    ("E307", "gateway target", lb(backends="[{name: b2, target_address: 10.0.0.1}] #!")),
    (
        "E308",
        "listen port twice",
        lb(
            ports='\n          - {protocol: tcp, listen_port: "80-82", target_backend: [b2]}'
            '\n          - {protocol: tcp, listen_port: "81", target_backend: [b2]} #!'
        ),
    ),
    (
        "E309",
        "target port count",
        lb(
            backends='[{name: b2, target_address: 10.0.0.2, target_port: "80,81,82"}] #!',
            ports='[{protocol: tcp, listen_port: "80,81", target_backend: [b2]}]',
        ),
    ),
    (
        "E310",
        "unknown backend",
        lb(ports='[{protocol: tcp, listen_port: "80", target_backend: [b3]}] #!'),
    ),
    (
        "E314",
        "backend twice",
        lb(ports='[{protocol: tcp, listen_port: "80", target_backend: [b2, b2]}] #!'),
    ),
    (
        "E311",
        "backend name twice",
        lb(
            backends="\n          - {name: b2, target_address: 10.0.0.2}"
            "\n          - {name: b2, target_address: 10.0.0.3} #!"
        ),
    ),
    (
        "E312",
        "no switch port",
        lb(config="{healthcheck: 'true'}", backends="[{name: b2, target_address: 10.0.0.7}] #!"),
    ),
    (
        "E313",
        "ipv6 health check without router_mac",
        NET.replace("ipv4_address: 10.0.0.1/24", "ipv6_address: fd00::1/64")
        .replace("[10.0.0.2]", '["fd00::2"]')
        .replace("[10.0.0.3]", '["fd00::3"]')
        + "    load_balancers:\n      - listen_address: 2001:db8::10\n"
        + "        config: {healthcheck: 'true'} #!\n"
        + '        backends: [{name: b2, target_address: "fd00::2"}]\n'
        + '        ports: [{protocol: tcp, listen_port: "80", target_backend: [b2]}]\n',
    ),
    (
        "E316",
        "address on two ports",
        NET.replace("addresses: [10.0.0.3]}", "addresses: [10.0.0.2]} #!"),
    ),
    (
        "E317",
        "no subnet",
        "networks:\n  - name: n1 #!\n    row_prefix: p1\n    router: r1\n    switch: s1\n",
    ),
    (
        "E318",
        "forward port target is default target",
        NET
        + "    forwards:\n      - listen_address: 192.0.2.20\n        config: {target_address: 10.0.0.3}\n"
        + '        ports: [{protocol: tcp, listen_port: "80", target_address: 10.0.0.3}] #!\n',
    ),
    (
        "E327",
        "forward port with snat true",
        NET
        + "    forwards:\n      - listen_address: 192.0.2.20\n"
        + '        ports: [{protocol: tcp, listen_port: "80", target_address: 10.0.0.3, snat: true}] #!\n',
    ),
    (
        "E206",
        "forward port snat not a boolean",
        NET
        + "    forwards:\n      - listen_address: 192.0.2.20\n"
        + '        ports: [{protocol: tcp, listen_port: "80", target_address: 10.0.0.3, snat: "maybe"}] #!\n',
    ),
    ("W001", "empty forward", NET + "    forwards:\n      - listen_address: 192.0.2.20 #!\n"),
    ("E209", "affinity_timeout over 65535", lb(config="{affinity_timeout: '70000'} #!")),
    ("E210", "target_ovn older than supported", "target_ovn: '22.03' #!\n" + NET),
    ("E211", "probe source no word or address", NET + "    probe_source: {ipv4: first} #!\n"),
    ("E211", "eui64 probe source for ipv4", NET + "    probe_source: {ipv4: eui64} #!\n"),
    ("E211", "probe source of the other family", NET + '    probe_source: {ipv4: "fd00::5"} #!\n'),
    ("E328", "probe source outside the subnet", NET + "    probe_source: {ipv4: 10.0.1.5} #!\n"),
    ("E328", "probe source is the gateway", NET + "    probe_source: {ipv4: 10.0.0.1} #!\n"),
    ("E328", "probe source for a family without subnet", NET + "    probe_source: {ipv6: last} #!\n"),
    ("E319", "probe source router on 23.03", NET + "    probe_source: {ipv4: router} #!\n"),
    ("E319", "ct_flush on plain 23.03", lb(config="{ct_flush: 'true'} #!")),
    ("E320", "reject and event", lb(config="{reject: 'true', event: 'true'} #!")),
    (
        "E321",
        "affinity on a forward",
        NET
        + "    forwards:\n      - listen_address: 192.0.2.20\n        config: {affinity_timeout: '60'} #!\n"
        + '        ports: [{protocol: tcp, listen_port: "80", target_address: 10.0.0.3}]\n',
    ),
    ("E322", "template load balancer", lb(config="{template: 'true'} #!")),
    ("E321", "hairpin_snat_ip of the other family only", lb(config="{hairpin_snat_ip: 'fd69::5'} #!")),
    ("N002", "hairpin_snat_ip of both families", lb(config="{hairpin_snat_ip: '169.254.169.5 fd69::5'} #!")),
    ("E323", "attach the network's own switch", NET + "    attach_switches: [s1] #!\n"),
    ("E324", "router named --", NET.replace("router: r1", 'router: "--" #!')),
    ("E324", "attached switch named --", NET + '    attach_switches: [s9, "--"] #!\n'),
    ("E324", "group named --", NET + '    lb_group: "--" #!\n'),
    (
        "E324",
        "switch port named --",
        NET.replace("{name: lsp3,", '{name: "--",').replace("[10.0.0.3]}", "[10.0.0.3]} #!"),
    ),
    ("E324", "switch named like a UUID", NET.replace("switch: s1", "switch: 0b1d4c59-33f4-4f3a-9d0e-5c7c0e9e2f11 #!")),
    (
        "E325",
        "switch port name with a colon",
        NET.replace("{name: lsp3,", "{name: 'lsp:3',").replace("[10.0.0.3]}", "[10.0.0.3]} #!"),
    ),
    (
        "E106",
        "yaml alias bomb",
        NET
        + "x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]{' #!' if i == 5 else ''}\n" for i in range(1, 6)),
    ),
    ("W003", "reject without health checks", lb(config="{reject: 'true'} #!")),
    # LXD's pools (tests/test_lxd_pools.py has the columns, the DSL and more).
    ("E310", "unknown pool", pooled(ports='[{protocol: tcp, listen_port: "80", target_pool: wbe}] #!')),
    ("E340", "pool name twice", pooled(pools=f"\n      - {WEB_POOL}\n      - {WEB_POOL} #!")),
    (
        "E341",
        "target_backend and target_pool",
        pooled(
            backends="[{name: b2, target_address: 10.0.0.2}]",
            ports='[{protocol: tcp, listen_port: "80", target_backend: [b2], target_pool: web}] #!',
        ),
    ),
    ("E103", "neither target_backend nor target_pool", pooled(ports='[{protocol: tcp, listen_port: "80"}] #!')),
    ("E342", "pool port range", pooled(ports='[{protocol: tcp, listen_port: "80-81", target_pool: web}] #!')),
    ("E343", "pool protocol", pooled(ports='[{protocol: udp, listen_port: "80", target_pool: web}] #!')),
    ("E344", "instance twice in a pool", pooled(pools=f"[{WEB_POOL.replace('{name: i3}', '{name: i2}')}] #!")),
    ("E345", "pool instance without a switch port", pooled(pools=f"[{WEB_POOL.replace('i3', 'i9')}] #!")),
    (
        "E346",
        "two probe sources for one address",
        pooled(
            pools=f"[{CHECKED_POOL}]",
            config="{healthcheck: 'true'}",
            backends="[{name: b2, target_address: 10.0.0.2}] #!",
            ports='[{protocol: tcp, listen_port: "80", target_pool: web}, '
            '{protocol: tcp, listen_port: "22", target_backend: [b2]}]',
        ),
    ),
    (
        "E347",
        "instance port in two pools",
        pooled(
            pools=f"\n      - {WEB_POOL}\n      - {WEB_POOL.replace('web', 'web2')} #!",
            ports='[{protocol: tcp, listen_port: "80", target_pool: web}, '
            '{protocol: tcp, listen_port: "81", target_pool: web2}]',
        ),
    ),
    (
        "W007",
        "empty pool",
        pooled(
            pools='[{name: web, config: {target_port: "80"}, instances: []}]',
            ports='[{protocol: tcp, listen_port: "80", target_pool: web}] #!',
        ),
    ),
    (
        "E319",
        "health-checked pool on plain 23.03",
        pooled(pools=f"[{CHECKED_POOL}] #!"),
    ),
    (
        "W006",
        "options on a forward with only a default target",
        NET + "    forwards:\n      - listen_address: 192.0.2.20\n"
        "        config: {target_address: 10.0.0.3, skip_snat: 'true'} #!\n",
    ),
    (
        "W002",
        "health-check setting without healthcheck",
        lb(config="{healthcheck.interval: '5'} #!"),
    ),
]


# Found while writing the ovn-nbctl script (compiler/emit/nbctl.py), not by a
# check: `compile` reports them, `check` and `apply` have no such limits.
LONG = "x" * (120 * 1024)  # under the 128 KiB an argument may have, with its word's prefix too
SCRIPT_CASES: list[tuple[str, str, str]] = [
    (
        "E326",
        "description over 128 KiB",
        lb(body="").replace(
            "        config: {}\n", f"        description: {'d' * (128 * 1024)} #!\n        config: {{}}\n"
        ),
    ),
    (
        "E326",
        "description over 128 KiB on a forward's NAT row",
        NET
        + "    forwards:\n      - listen_address: 192.0.2.20\n"
        + f"        description: {'d' * (128 * 1024)} #!\n"
        + "        config: {target_address: 10.0.0.3}\n",
    ),
    (
        "W004",
        "a script too big for one command line",
        NET
        + "    load_balancers:\n"
        + "".join(
            f"      - listen_address: 192.0.2.{index}{' #!' if index == 9 else ''}\n"
            f"        description: {LONG}\n"
            "        backends: [{name: b2, target_address: 10.0.0.2}]\n"
            '        ports: [{protocol: tcp, listen_port: "80", target_backend: [b2]}]\n'
            for index in range(1, 11)
        ),
    ),
]


@pytest.mark.parametrize(("code", "title", "text"), SCRIPT_CASES, ids=[f"{c[0]}-{c[1]}" for c in SCRIPT_CASES])
def test_each_script_finding_reports_code_on_the_offending_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str, title: str, text: str
) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "lb.sh"
    status = main(["compile", str(path), "-o", str(out)])
    err = capsys.readouterr().err
    assert f"{path}:{marked_line(text)}:" in err and f"[{code}]" in err, err[:2000]
    if code.startswith("E"):
        assert status == 1 and not out.exists() and "nothing was written" in err
        assert "ovn-lbc apply" in err
    else:
        assert status == 0 and out.exists()


def marked_line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if "#!" in line)


@pytest.mark.parametrize(("code", "title", "text"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_check_reports_code_on_the_offending_line(tmp_path: Path, code: str, title: str, text: str) -> None:
    name = "input.json" if title.startswith("json") else "input.yaml"
    found = errors_of(tmp_path, text if name == "input.yaml" else text.replace(" #!", ""), name)
    expected_line = marked_line(text)
    assert (code, expected_line) in [(c, line) for c, line, _ in found], found


def test_every_code_has_a_failing_input() -> None:
    tested = {code for code, _, _ in CASES + SCRIPT_CASES}
    # E4xx compare the file with a database: tests/test_plan.py makes each one.
    # E107 needs a file over 256 MiB: tests/test_hostile_files.py feeds an endless one.
    # K0xx are the importers': tests/test_import_keepalived.py makes each one.
    file_codes = {code for code in CODES if not code.startswith(("E4", "K")) and code != "E107"}
    assert tested == file_codes, file_codes ^ tested


def test_valid_base_has_no_findings(tmp_path: Path) -> None:
    assert errors_of(tmp_path, lb()) == []
