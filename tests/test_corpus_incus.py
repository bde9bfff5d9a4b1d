"""What Incus prints compiles unmodified, and gives the rows Incus writes.

The files under tests/corpus/incus/ are outputs and examples of current Incus
(each names its source: Incus's own test suite, the ``edit`` help texts, the
REST API). Each is put, byte for byte but for its indentation, under a
network block, as ``ovn-lbc`` expects; the rows that come out are compared
with those Incus's driver writes (internal/server/network/driver_ovn.go and
the assertions of test/suites/network_ovn.sh), then applied to a real OVN.
Incus's rows carry no external_ids; ovn-lbc's carry its ownership marks,
the one deliberate difference, so external_ids are left out of the
comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler import CompileError, compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology

from .helpers import dump_table

CORPUS = Path(__file__).parent / "corpus" / "incus"

# incus-net1 as Incus names a network's OVN objects (driver_ovn.go getRouterName,
# getIntSwitchName); its switch ports are the instances' NICs.
NETWORK = """\
networks:
  - name: ovn-virtual-network
    row_prefix: incus-net1
    router: incus-net1-lr
    switch: incus-net1-ls-int
    ipv4_address: 10.10.10.1/24
    ipv6_address: fd42:10:10::1/64
    probe_source: {ipv6: last}
    switch_ports:
      - {name: incus-net1-instance-0b6f-eth0, addresses: [10.10.10.2, "fd42:10:10::2"]}
      - {name: incus-net1-instance-91c2-eth0, addresses: [10.10.10.3, "fd42:10:10::3"]}
"""
# For the `edit` help examples, whose addresses are documentation ranges.
EXAMPLE_NETWORK = """\
networks:
  - name: example
    row_prefix: incus-net2
    router: incus-net2-lr
    switch: incus-net2-ls-int
    ipv4_address: {gateway}
"""


def shown(name: str) -> str:
    """A corpus file as Incus prints it, its provenance comment kept."""
    return (CORPUS / name).read_text(encoding="utf-8")


def embed(network: str, key: str, *outputs: str) -> str:
    """``outputs`` as the items of the network's ``key`` list: indented, nothing else changed."""
    items = []
    for output in outputs:
        lines = output.splitlines()
        body = [line for line in lines if not line.startswith("#")]
        comments = [f"      {line}" for line in lines if line.startswith("#")]
        items.extend(comments)
        items.append("      - " + body[0])
        items.extend(("        " + line) if line else "" for line in body[1:])
    return network + f"    {key}:\n" + "\n".join(items) + "\n"


def compiled(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "incus.yaml"
    path.write_text(text, encoding="utf-8")
    return compile_files([str(path)])


def row(compilation: Any, name: str) -> Any:
    (found,) = [r for r in compilation.changes.rows if r.name == name]
    return found


# -- each output compiles unmodified ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "network"),
    [
        ("lb-show-empty.yaml", "load_balancers", NETWORK),
        ("lb-show-u1-u2.yaml", "load_balancers", NETWORK),
        ("lb-show-u1-u2-ipv6.yaml", "load_balancers", NETWORK),
        ("forward-show.yaml", "forwards", NETWORK),
        ("lb-edit-example.yaml", "load_balancers", EXAMPLE_NETWORK.format(gateway="192.0.3.100/24")),
        ("forward-edit-example.yaml", "forwards", EXAMPLE_NETWORK.format(gateway="198.51.100.1/24")),
    ],
)
def test_what_incus_prints_compiles_unmodified(tmp_path: Path, name: str, key: str, network: str) -> None:
    try:
        compiled(tmp_path, embed(network, key, shown(name)))
    except CompileError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(exc.render())


def test_a_load_balancer_just_created_writes_no_row(tmp_path: Path) -> None:
    """network_ovn.sh 884-889: after `load-balancer create`, `ovn-nbctl list
    load_balancer` has no row; ovn-lbc says so in a warning."""
    compilation = compiled(tmp_path, embed(NETWORK, "load_balancers", shown("lb-show-empty.yaml")))
    assert compilation.changes.rows == ()
    assert [d.code for d in compilation.warnings] == ["W005"]


def test_the_vips_are_the_strings_incus_writes(tmp_path: Path) -> None:
    """network_ovn.sh 1043-1044 greps these very strings in `ovn-nbctl list load_balancer`."""
    text = embed(NETWORK, "load_balancers", shown("lb-show-u1-u2.yaml"), shown("lb-show-u1-u2-ipv6.yaml"))
    compilation = compiled(tmp_path, text)
    ipv4 = row(compilation, "incus-net1-lb-192.0.2.1-tcp")
    assert dict(ipv4.vips) == {"192.0.2.1:53": "10.10.10.2:53,10.10.10.3:53"}
    assert ipv4.health_checks == () and ipv4.ip_port_mappings == ()
    ipv6 = row(compilation, "incus-net1-lb-2001:db8:1:2::1-tcp")
    assert dict(ipv6.vips) == {"[2001:db8:1:2::1]:53": "[fd42:10:10::2]:53,[fd42:10:10::3]:53"}


def test_health_checks_are_the_rows_incus_writes(tmp_path: Path) -> None:
    """driver_ovn.go getHealthCheck: one check per VIP with the VIP's very
    string, Incus's defaults for 0 (10/30/3/3), and probes from
    dhcpalloc.GetIP(subnet, -2): <prefix>:ffff:ffff:ffff:fffe in a /64
    (probe_source ipv6: last; one zero group stays written out, RFC 5952,
    as Go prints it too)."""
    compilation = compiled(tmp_path, embed(NETWORK, "load_balancers", shown("lb-show-u1-u2-ipv6.yaml")))
    ipv6 = row(compilation, "incus-net1-lb-2001:db8:1:2::1-tcp")
    (check,) = ipv6.health_checks
    assert check.vip == "[2001:db8:1:2::1]:53"
    assert dict(check.options) == {"interval": "10", "timeout": "30", "success_count": "3", "failure_count": "3"}
    assert dict(ipv6.ip_port_mappings) == {
        "[fd42:10:10::2]": "incus-net1-instance-0b6f-eth0:[fd42:10:10:0:ffff:ffff:ffff:fffe]",
        "[fd42:10:10::3]": "incus-net1-instance-91c2-eth0:[fd42:10:10:0:ffff:ffff:ffff:fffe]",
    }


def test_incus_output_applied_to_a_real_ovn(ovn: Sandbox, tmp_path: Path) -> None:
    """All of it at once, as `ovn-lbc apply` sends it: the Load_Balancer rows
    Incus's test suite expects, the forward's default target as the dnat NAT
    row Incus writes (network_ovn.sh 672-674: no Load_Balancer row for a
    forward with only a default target; here the forward has a port too).
    lb-show-empty.yaml listens on 192.0.2.1 as lb-show-u1-u2.yaml does (both
    are network_ovn.sh's), so it is left out: it writes no row anyway."""
    text = embed(
        NETWORK,
        "load_balancers",
        shown("lb-show-u1-u2.yaml"),
        shown("lb-show-u1-u2-ipv6.yaml"),
    ) + embed("", "forwards", shown("forward-show.yaml"))
    path = tmp_path / "incus.yaml"
    path.write_text(text, encoding="utf-8")
    build_topology(ovn, compile_files([str(path)]).document)
    assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
    rows = {r["name"]: r for r in dump_table(ovn, "Load_Balancer")}
    assert sorted(rows) == [
        "incus-net1-lb-192.0.2.1-tcp",
        "incus-net1-lb-192.0.2.2-tcp",
        "incus-net1-lb-2001:db8:1:2::1-tcp",
    ]
    assert rows["incus-net1-lb-192.0.2.1-tcp"]["vips"] == {"192.0.2.1:53": "10.10.10.2:53,10.10.10.3:53"}
    assert rows["incus-net1-lb-192.0.2.2-tcp"]["vips"] == {"192.0.2.2:80": "10.10.10.3:80"}
    (nat,) = dump_table(ovn, "NAT")
    assert (nat["type"], nat["external_ip"], nat["logical_ip"]) == ("dnat", "192.0.2.2", "10.10.10.2")
    assert nat["options"] == {"stateless": "false"}
    (router,) = [r for r in dump_table(ovn, "Logical_Router") if r["name"] == "incus-net1-lr"]
    assert router["nat"] == nat["_uuid"] or nat["_uuid"] in router["nat"]
