"""Real packets: Open vSwitch's userspace datapath and ovn-controller in the
sandbox, a namespace per switch port, servers that answer with their
backend's name. Each test reproduces a reason behind one of ovn-lbc's rules.

Root, /dev/net/tun and the datapath packages are needed: without them the
tests skip on a developer machine and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from netaddr import IPNetwork

from compiler import Compilation, compile_files
from compiler.datapath import Datapath, Interface, datapath_problem
from compiler.sandbox import search_path
from compiler.traffic import (
    TrafficSandbox,
    add_client,
    connect_client_switch,
    monitor_statuses,
    start_backends,
    stop_backends,
    traffic_sandbox,
    wait_for_monitors,
    wait_for_ports_up,
)

from .conftest import ROOT, SAMPLES, require_ovn
from .helpers import dump_table

VIP = "10.171.5.10"


def require_datapath() -> None:
    require_ovn()
    problem = datapath_problem(search_path())
    if problem is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(problem + "; CI=true forbids skipping", pytrace=False)
    pytest.skip(problem)


def _namespaces() -> set[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


@pytest.fixture(autouse=True)
def nothing_left_behind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After every test: none of the namespaces or veths of the datapaths it
    started remain (by their sandbox's tag: other sandboxes may run at once)."""
    require_datapath()
    tags: list[str] = []
    real_start = Datapath.start

    def recorded_start(self: Datapath) -> None:
        tags.append(self.tag)
        real_start(self)

    monkeypatch.setattr(Datapath, "start", recorded_start)
    yield
    left = {name for name in _namespaces() if any(name.startswith(f"lb{tag}") for tag in tags)}
    assert not left, f"namespaces left behind: {sorted(left)}"
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert not [tag for tag in tags if f"lb{tag}" in links], links


def _file(tmp_path: Path, edit: Any = None, sample: str = "ipv4-healthcheck.yaml") -> tuple[Compilation, list[str]]:
    data = yaml.safe_load((SAMPLES / sample).read_text(encoding="utf-8"))
    if edit is not None:
        edit(data["networks"][0])
    path = tmp_path / sample
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return compile_files([str(path)]), [str(path)]


def _spread(answers: dict[str, int], backends: set[str]) -> bool:
    return set(answers) == backends and all(answers[name] > 0 for name in backends)


def _wait_reachable(plugged: TrafficSandbox, client: str, address: str, port: int) -> None:
    """Until a client reaches a backend directly: its flows are in place."""
    namespace = plugged.clients[client]
    plugged.datapath.wait_until(
        lambda: plugged.datapath.ask(namespace, address, port, "tcp", 1) != {"timeout": 1},
        30,
        f"{client}'s client reaching {address}:{port}",
    )


def test_connections_spread_and_follow_the_health_checks(tmp_path: Path) -> None:
    """Monitors go online from the real probes; a stopped backend goes offline
    within interval x failure_count (plus a margin) and gets no connection;
    restarted, it is back online and in the traffic."""
    compilation, inputs = _file(tmp_path)
    web = {"web1", "web2", "web3"}
    with traffic_sandbox(compilation, inputs) as plugged:
        client = plugged.clients["incus-net49-ls-int"]
        wait_for_monitors(plugged, None, 60)
        statuses = monitor_statuses(plugged.sandbox)
        assert statuses == {(f"10.135.209.{n}", 8080, "tcp"): "online" for n in (2, 3, 4)}
        assert _spread(plugged.datapath.ask(client, VIP, 80, "tcp", 30), web)

        # interval 5 s x failure_count 3, each probe waiting at most timeout 20 s.
        offline = stop_backends(plugged, ["web2"])
        started = time.monotonic()
        wait_for_monitors(plugged, offline, 5 * 3 + 20 + 30)
        took = time.monotonic() - started
        answers = plugged.datapath.ask(client, VIP, 80, "tcp", 30)
        assert _spread(answers, {"web1", "web3"}), answers

        start_backends(plugged, ["web2"])
        plugged.datapath.wait_until(
            lambda: monitor_statuses(plugged.sandbox)[("10.135.209.3", 8080, "tcp")] == "online",
            5 * 3 + 30,
            "web2's monitor coming back online",
        )
        assert _spread(plugged.datapath.ask(client, VIP, 80, "tcp", 30), web)
    print(f"web2 went offline {took:.1f} s after its server stopped")


def test_an_ipv6_pool_is_probed_from_the_eui64_source(tmp_path: Path) -> None:
    compilation, inputs = _file(tmp_path, sample="ipv6-healthcheck.yaml")
    with traffic_sandbox(compilation, inputs) as plugged:
        client = plugged.clients["incus-net50-ls-int"]
        listing = plugged.sandbox.sbctl("--bare", "--columns=src_ip", "list", "Service_Monitor").split()
        assert set(listing) == {"fd42:1:2:3:75:b9ff:fe2e:adf4"}  # 02:75:b9:2e:ad:f4 in fd42:1:2:3::/64
        plugged.datapath.wait_until(
            lambda: all(
                status == "online"
                for (ip, port, protocol), status in monitor_statuses(plugged.sandbox).items()
                if protocol == "tcp"
            ),
            60,
            "the TCP monitors going online",
        )
        answers = plugged.datapath.ask(client, "2001:db8:0:100::10", 53, "tcp", 30)
        assert _spread(answers, {"dns1", "dns2"}), answers
        # UDP too (its monitors need a timeout of silence per probe to go online).
        answers = plugged.datapath.ask(client, "2001:db8:0:100::10", 53, "udp", 30)
        assert _spread(answers, {"dns1", "dns2"}), answers


def _tcp_monitors_online(plugged: TrafficSandbox) -> bool:
    statuses = monitor_statuses(plugged.sandbox)
    return bool(statuses) and all(
        status == "online" for (_, _, protocol), status in statuses.items() if protocol == "tcp"
    )


@pytest.mark.parametrize(
    ("choice", "source"),
    [
        ("last", "fd42:1:2:3:ffff:ffff:ffff:fffe"),  # Incus's GetIP(subnet, -2)
        ("fd42:1:2:3::fe", "fd42:1:2:3::fe"),
    ],
)
def test_an_ipv6_pool_is_probed_from_the_chosen_source(tmp_path: Path, choice: str, source: str) -> None:
    """probe_source ipv6: the monitors probe from the chosen address and go
    online; no router_mac is needed (the sandbox's router port gets a MAC of its own)."""

    def edit(network: dict[str, Any]) -> None:
        network["probe_source"] = {"ipv6": choice}
        del network["router_mac"]

    compilation, inputs = _file(tmp_path, edit, sample="ipv6-healthcheck.yaml")
    with traffic_sandbox(compilation, inputs) as plugged:
        client = plugged.clients["incus-net50-ls-int"]
        listing = plugged.sandbox.sbctl("--bare", "--columns=src_ip", "list", "Service_Monitor").split()
        assert set(listing) == {source}
        plugged.datapath.wait_until(lambda: _tcp_monitors_online(plugged), 60, "the TCP monitors going online")
        answers = plugged.datapath.ask(client, "2001:db8:0:100::10", 53, "tcp", 30)
        assert _spread(answers, {"dns1", "dns2"}), answers


def test_an_ipv4_pool_is_probed_from_an_address_given_as_its_source(tmp_path: Path) -> None:
    """probe_source ipv4 10.135.209.200: the probes come from that address
    (northd answers ARP for it), the monitors go online, and a stopped
    backend still goes offline."""

    def edit(network: dict[str, Any]) -> None:
        network["probe_source"] = {"ipv4": "10.135.209.200"}

    compilation, inputs = _file(tmp_path, edit)
    with traffic_sandbox(compilation, inputs) as plugged:
        client = plugged.clients["incus-net49-ls-int"]
        listing = plugged.sandbox.sbctl("--bare", "--columns=src_ip", "list", "Service_Monitor").split()
        assert set(listing) == {"10.135.209.200"}
        wait_for_monitors(plugged, None, 60)
        assert monitor_statuses(plugged.sandbox) == {(f"10.135.209.{n}", 8080, "tcp"): "online" for n in (2, 3, 4)}
        assert _spread(plugged.datapath.ask(client, VIP, 80, "tcp", 30), {"web1", "web2", "web3"})
        offline = stop_backends(plugged, ["web2"])
        wait_for_monitors(plugged, offline, 5 * 3 + 20 + 30)
        assert _spread(plugged.datapath.ask(client, VIP, 80, "tcp", 30), {"web1", "web3"})


# probe_source router (the router port's own address as the source) needs
# ovn-northd 26.03 (OVN-NOTES.md); this machine's OVN is 23.03, so it has no
# test on a real datapath here. tests/test_schemas.py shows the rows it
# writes into a 26.03 database and the refusal (E319) by older ones.


def test_a_hand_made_probe_source_outside_the_subnet_never_gets_online(tmp_path: Path) -> None:
    """The same backends, a row written by hand whose ip_port_mappings source
    is 169.254.169.254: its monitors never go online while ovn-lbc's do."""
    compilation, inputs = _file(tmp_path)
    with traffic_sandbox(compilation, inputs) as plugged:
        ovn = plugged.sandbox
        ovn.nbctl("lb-add", "by-hand", "10.171.5.11:80", "10.135.209.2:8081", "tcp")
        ovn.nbctl("ls-lb-add", "incus-net49-ls-int", "by-hand")
        ovn.nbctl(
            "--",
            "--id=@hc",
            "create",
            "Load_Balancer_Health_Check",
            'vip="10.171.5.11:80"',
            "options:interval=2",
            "options:timeout=2",
            "options:success_count=1",
            "options:failure_count=1",
            "--",
            "add",
            "Load_Balancer",
            "by-hand",
            "health_check",
            "@hc",
            "--",
            "set",
            "Load_Balancer",
            "by-hand",
            'ip_port_mappings:"10.135.209.2"="incus-net49-instance-22be9150-eth0:169.254.169.254"',
        )
        plugged.datapath.stop_server(plugged.servers["incus-net49-instance-22be9150-eth0"])
        plugged.listening["incus-net49-instance-22be9150-eth0"][0].append(8081)  # the hand-made row's port too
        start_backends(plugged, ["web1"])
        wait_for_monitors(plugged, None, 60)
        time.sleep(8)  # four of the hand-made check's intervals
        statuses = monitor_statuses(ovn)
        assert statuses[("10.135.209.2", 8080, "tcp")] == "online"  # ovn-lbc's, source 10.135.209.254
        assert statuses[("10.135.209.2", 8081, "tcp")] != "online"  # the answer never comes back


def _client_switch(plugged: TrafficSandbox, switch: str, third_octet: int) -> None:
    """A client on a second switch behind the network's router that the file does not name."""
    plugged.sandbox.nbctl("--may-exist", "ls-add", switch)
    subnet = IPNetwork(f"198.18.{third_octet}.1/24")
    connect_client_switch(plugged.sandbox, "incus-net49-lr", switch, subnet)
    interface = Interface(
        f"0a:00:00:fe:01:{third_octet:02x}", (f"198.18.{third_octet}.10/24",), (f"198.18.{third_octet}.1",)
    )
    plugged.clients[switch] = add_client(plugged.sandbox, plugged.datapath, switch, interface, 100 + third_octet)
    wait_for_ports_up(plugged)


@pytest.mark.parametrize("how", ["not attached", "attach_switches", "lb_group"])
def test_load_balancing_happens_on_the_clients_switch(tmp_path: Path, how: str) -> None:
    """The practice note: load balancing must be applied on the client's
    logical switch, not only the servers'. A distributed router without a
    gateway port does not balance for a client behind another of its ports."""

    def edit(network: dict[str, Any]) -> None:
        if how != "not attached":
            network["attach_switches"] = ["clients"]
        if how == "lb_group":
            network["lb_group"] = "web-group"

    compilation, inputs = _file(tmp_path, edit)
    with traffic_sandbox(compilation, inputs) as plugged:
        if how == "not attached":
            _client_switch(plugged, "clients", 7)
        wait_for_monitors(plugged, None, 60)
        _wait_reachable(plugged, "clients", "10.135.209.2", 8080)  # the backends themselves are reachable
        answers = plugged.datapath.ask(plugged.clients["clients"], VIP, 80, "tcp", 20)
        if how == "not attached":
            assert answers == {"timeout": 20}, answers
        else:
            assert _spread(answers, {"web1", "web2", "web3"}), answers


def test_icmp_to_a_whole_ip_vip_reaches_only_the_first_backend(tmp_path: Path) -> None:
    """The LXD spec's reason for E302: a port-less VIP sends every ICMP echo
    to its first backend, while TCP is spread."""
    compilation, inputs = _file(tmp_path)
    with traffic_sandbox(compilation, inputs) as plugged:
        ovn = plugged.sandbox
        ovn.nbctl("lb-add", "whole-ip", "10.171.5.99", "10.135.209.2,10.135.209.3")
        ovn.nbctl("ls-lb-add", "incus-net49-ls-int", "whole-ip", "--", "lr-lb-add", "incus-net49-lr", "whole-ip")
        ovn.nbctl("--wait=hv", "sync")
        client = plugged.clients["incus-net49-ls-int"]
        first = plugged.datapath.namespaces["incus-net49-instance-22be9150-eth0"]
        second = plugged.datapath.namespaces["incus-net49-instance-5c3e8a41-eth0"]
        before = plugged.datapath.icmp_echoes_received(first), plugged.datapath.icmp_echoes_received(second)
        assert plugged.datapath.ping(client, "10.171.5.99", 20) == 20
        after = plugged.datapath.icmp_echoes_received(first), plugged.datapath.icmp_echoes_received(second)
        assert (after[0] - before[0], after[1] - before[1]) == (20, 0)
        assert _spread(plugged.datapath.ask(client, "10.171.5.99", 8080, "tcp", 30), {"web1", "web2"})


def test_affinity_keeps_a_client_on_one_backend_until_the_timeout(tmp_path: Path) -> None:
    """With affinity_timeout every connection of one client lands on one
    backend (without it they spread: the first test); once the timeout has
    passed a new choice is made."""

    def edit(network: dict[str, Any]) -> None:
        network["load_balancers"][0]["config"]["affinity_timeout"] = "3"

    compilation, inputs = _file(tmp_path, edit)
    with traffic_sandbox(compilation, inputs) as plugged:
        client = plugged.clients["incus-net49-ls-int"]
        wait_for_monitors(plugged, None, 60)
        chosen = []
        for _ in range(6):
            answers = plugged.datapath.ask(client, VIP, 80, "tcp", 10, parallel=1)
            # Measured on OVN 23.03 (userspace datapath): the first connection or
            # two after a new choice time out while the choice is learnt.
            answered = {name: count for name, count in answers.items() if name != "timeout"}
            assert len(answered) == 1 and answers.get("timeout", 0) <= 2, answers  # one backend for the client
            chosen.append(next(iter(answered)))
            time.sleep(4)  # past the affinity timeout: a new choice
        assert len(set(chosen)) > 1, chosen  # all six the same: (1/3)^5 by chance


@pytest.mark.parametrize("reject", [True, False], ids=["reject", "no reject"])
def test_reject_refuses_at_once_when_every_backend_is_down(tmp_path: Path, reject: bool) -> None:
    def edit(network: dict[str, Any]) -> None:
        config = network["load_balancers"][0]["config"]
        config.update({"healthcheck.interval": "1", "healthcheck.timeout": "1", "healthcheck.failure_count": "1"})
        if reject:
            config["reject"] = "true"

    compilation, inputs = _file(tmp_path, edit)
    with traffic_sandbox(compilation, inputs) as plugged:
        client = plugged.clients["incus-net49-ls-int"]
        wait_for_monitors(plugged, None, 60)
        offline = stop_backends(plugged, ["web1", "web2", "web3"])
        wait_for_monitors(plugged, offline, 30)
        plugged.sandbox.nbctl("--wait=hv", "sync")
        answers = plugged.datapath.ask(client, VIP, 80, "tcp", 5)
        assert answers == ({"refused": 5} if reject else {"timeout": 5}), answers


def test_lxd_pools_spread_connections_over_their_instances(tmp_path: Path) -> None:
    """samples/lxd-pool.yaml on a real datapath: each pool VIP reaches every
    instance of its pool, c3 on its own target port 8080, over IPv4, IPv6
    and UDP; the backend port entry beside them reaches c1 alone. (Its
    pools are not health-checked: probes from the router's address need
    OVN 26.03, which this sandbox does not run.)"""
    sample = SAMPLES / "lxd-pool.yaml"
    compilation = compile_files([str(sample)])
    vips = {key: targets for row in compilation.changes.rows for key, targets in row.vips}
    assert vips["192.0.2.100:80"] == "10.24.140.50:80,10.24.140.51:80,10.24.140.52:8080"  # the servers listen there
    with traffic_sandbox(compilation, [str(sample)]) as plugged:
        client = plugged.clients["lxd-net5-ls-int"]
        for address, port, protocol, instances in (
            ("192.0.2.100", 80, "tcp", {"c1", "c2", "c3"}),
            ("2001:db8:1:2::100", 80, "tcp", {"c1", "c2", "c3"}),
            ("192.0.2.100", 53, "udp", {"c2", "c3"}),
            ("192.0.2.100", 2222, "tcp", {"c1"}),
        ):
            answers = plugged.datapath.ask(client, address, port, protocol, 30)
            assert _spread(answers, instances), (address, port, protocol, answers)


def test_an_interrupted_sandbox_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) in the middle of a traffic sandbox: every daemon,
    namespace and veth it made is gone afterwards."""
    program = (
        "import sys, time\n"
        "from compiler import compile_files\n"
        "from compiler.traffic import traffic_sandbox\n"
        "c = compile_files([sys.argv[1]])\n"
        "with traffic_sandbox(c, [sys.argv[1]]) as t:\n"
        "    print(t.datapath.tag, t.sandbox.directory, flush=True)\n"
        "    time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", program, str(SAMPLES / "ipv4-healthcheck.yaml")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            tag, directory = child.stdout.readline().split()
            assert any(name.startswith(f"lb{tag}") for name in _namespaces())
            pids = [int(p.read_text()) for p in Path(directory).glob("*.pid")]
            child.send_signal(signal.SIGINT)
            child.wait(60)
        finally:
            if child.poll() is None:
                child.kill()
    assert not any(name.startswith(f"lb{tag}") for name in _namespaces())
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert f"lb{tag}" not in links
    assert not Path(directory).exists()
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", pid


def test_sandbox_traffic_prints_in_json_what_the_text_shows(capsys: pytest.CaptureFixture[str]) -> None:
    from compiler.cli import main

    sample = str(SAMPLES / "ipv4-healthcheck.yaml")
    assert main(["sandbox", sample, "--traffic", "--connections", "15", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (only,) = report["rounds"]
    (vip,) = only["vips"]
    assert (vip["vip"], vip["protocol"], vip["monitors"]) == (
        "10.171.5.10:80",
        "tcp",
        {"web1": "online", "web2": "online", "web3": "online"},
    )
    assert _spread(vip["answers"], {"web1", "web2", "web3"}) and sum(vip["answers"].values()) == 15
    assert main(["sandbox", sample, "--traffic", "--connections", "15"]) == 0
    text = capsys.readouterr().out
    assert "status              : online" in text  # real probes: the monitors' rows
    table = text.split("== Traffic:")[1].splitlines()
    assert table[1] == "VIP 10.171.5.10:80 tcp (incus-net49-lb-10.171.5.10-tcp)"
    rows = {line.split()[0]: (int(line.split()[1]), line.split()[2]) for line in table[3:6]}
    assert set(rows) == {"web1", "web2", "web3"} and all(status == "online" for _, status in rows.values())
    assert sum(count for count, _ in rows.values()) == 15


@pytest.mark.parametrize(
    "snat", [None, "169.254.169.5 fd69::5"], ids=["vip source", "hairpin_snat_ip of both families"]
)
def test_a_backend_reaching_its_own_vip_is_answered(tmp_path: Path, snat: str | None) -> None:
    """Hairpin: web1 connects to the VIP; when the choice is web1 itself, OVN
    sends the connection back to it from the VIP, or from hairpin_snat_ip's
    address of the VIP's family (both families on one row, as ovn-kubernetes
    writes them: ovn-controller takes the form and uses the IPv4 one here)."""

    def edit(network: dict[str, Any]) -> None:
        if snat is not None:
            network["load_balancers"][0]["config"]["hairpin_snat_ip"] = snat

    compilation, inputs = _file(tmp_path, edit)
    with traffic_sandbox(compilation, inputs) as plugged:
        wait_for_monitors(plugged, None, 60)
        web1 = plugged.datapath.namespaces["incus-net49-instance-22be9150-eth0"]
        answers = plugged.datapath.ask(web1, VIP, 80, "tcp", 30)
        assert _spread(answers, {"web1", "web2", "web3"}), answers
        hairpinned = [peer for peer in plugged.datapath.peers(web1) if peer != "10.135.209.254"]
        assert hairpinned and set(hairpinned) == {snat.split()[0] if snat else VIP}, hairpinned
        assert len(hairpinned) == answers["web1"]


def test_a_forwards_default_target_answers_ping_and_tcp(tmp_path: Path) -> None:
    """A forward's default target is a dnat NAT row on the network's router,
    as Incus writes it; OVN applies it to what comes in through the router's
    distributed gateway port (the sandbox gives the router an uplink, as
    Incus does). From a client on the uplink every ICMP echo and every port
    the forward does not name reach the target, while its port entry (443)
    still goes to its own target."""
    compilation, inputs = _file(tmp_path, sample="forward-and-lb.yaml")
    with traffic_sandbox(compilation, inputs) as plugged:
        ovn = plugged.sandbox
        (nat,) = dump_table(ovn, "NAT")
        assert (nat["type"], nat["external_ip"], nat["logical_ip"], nat["options"]) == (
            "dnat",
            "10.171.5.20",
            "10.135.209.9",
            {"stateless": "false"},
        )
        assert nat["external_ids"]["ovn-lbc:network"] == "net49"
        router = next(row for row in dump_table(ovn, "Logical_Router") if row["name"] == "incus-net49-lr")
        assert router["nat"] == nat["_uuid"]
        dnat = [line for line in ovn.sbctl("lflow-list", "incus-net49-lr").splitlines() if "lr_in_dnat" in line]
        assert any(
            'ip4.dst == 10.171.5.20 && inport == "incus-net49-lr-lrp-ext"' in line
            and "ct_dnat_in_czone(10.135.209.9);" in line
            for line in dnat
        ), dnat
        client = plugged.clients["incus-net49-lr-ext"]
        assert client.interface.addresses == ("198.19.0.10/24",) and client.interface.gateways == ("198.19.0.1",)
        (target,) = (ns for ns in plugged.datapath.namespaces.values() if "10.135.209.9/24" in ns.interface.addresses)
        plugged.datapath.serve(target, "default-target", [22], [])
        # Until ovn-controller has claimed the gateway port (its chassis-redirect port).
        plugged.datapath.wait_until(
            lambda: plugged.datapath.ping(client, "10.171.5.20", 1) == 1, 30, "the uplink's client reaching the forward"
        )
        before = plugged.datapath.icmp_echoes_received(target)
        assert plugged.datapath.ping(client, "10.171.5.20", 5) == 5
        assert plugged.datapath.icmp_echoes_received(target) - before == 5
        assert plugged.datapath.ask(client, "10.171.5.20", 22, "tcp", 5) == {"default-target": 5}
        assert plugged.datapath.ask(client, "10.171.5.20", 443, "tcp", 5) == {"u1": 5}
        assert set(plugged.datapath.peers(target)) == {"198.19.0.10"}  # DNAT only: the client's own address
