"""``ovn-lbc status`` and ``ovn-lbc doctor`` on a real datapath.

Each finding is made by breaking exactly one thing by hand on the sandbox
(ovn-nbctl, ovs-vsctl, ``ip``), as an operator or another tool would:
doctor must report its code at the right backend and line, and once the
thing is repaired doctor must be clean and status show the backends
online. Several findings share one sandbox (about 35 s to start), each
broken, checked and repaired in turn.

Root, /dev/net/tun and the datapath packages are needed (tests/test_datapath.py).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import Compilation, compile_files
from compiler.cli import main
from compiler.datapath import DatapathError, Interface
from compiler.traffic import (
    TrafficSandbox,
    start_backends,
    stop_backends,
    traffic_sandbox,
    wait_for_monitors,
)

from .conftest import SAMPLES
from .test_datapath import nothing_left_behind, require_datapath  # noqa: F401  (the fixture runs here too)

VIP = "10.171.5.10"
WEB1, WEB2, WEB3 = (
    "incus-net49-instance-22be9150-eth0",
    "incus-net49-instance-5c3e8a41-eth0",
    "incus-net49-instance-9f1d7b20-eth0",
)
ROW = "incus-net49-lb-10.171.5.10-tcp"


def _fast(network: dict[str, Any]) -> None:
    """Probes every 2 s: a monitor goes offline after two failures, online after one success."""
    config = network["load_balancers"][0]["config"]
    config.update(
        {
            "healthcheck.interval": "2",
            "healthcheck.timeout": "2",
            "healthcheck.success_count": "1",
            "healthcheck.failure_count": "2",
        }
    )


def _file(
    tmp_path: Path, *edits: Callable[[dict[str, Any]], None], sample: str = "ipv4-healthcheck.yaml"
) -> tuple[Compilation, str]:
    data = yaml.safe_load((SAMPLES / sample).read_text(encoding="utf-8"))
    for edit in edits:
        edit(data["networks"][0])
    path = tmp_path / sample
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return compile_files([str(path)]), str(path)


class Cli:
    """ovn-lbc status and doctor against one sandbox, their output captured."""

    def __init__(self, plugged: TrafficSandbox, path: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.plugged, self.path, self.capsys = plugged, path, capsys
        self.remotes = ["--db", plugged.sandbox.nb_remote, "--sb", plugged.sandbox.sb_remote]

    def run(self, command: str, *extra: str) -> tuple[int, str]:
        self.capsys.readouterr()
        code = main([command, self.path, *self.remotes, *extra])
        return code, self.capsys.readouterr().out

    def status(self) -> tuple[int, dict[str, Any]]:
        code, out = self.run("status", "--format", "json")
        return code, json.loads(out)

    def doctor(self) -> tuple[int, list[tuple[str, str, int]]]:
        """The exit status, and (code, backend, line) of every finding."""
        code, out = self.run("doctor", "--format", "json")
        return code, [(f["code"], f["backend"], f["line"]) for f in json.loads(out)["findings"]]

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        self.plugged.datapath.wait_until(condition, timeout, what)

    def wait_doctor(self, expected: list[tuple[str, str, int]], what: str, timeout: float = 60) -> None:
        """Until doctor exits 4 with exactly these findings (in any order); else what it said last."""
        said: list[Any] = []

        def found() -> bool:
            said[:] = [self.doctor()]
            return said[0][0] == 4 and sorted(said[0][1]) == sorted(expected)

        try:
            self.wait(found, what, timeout)
        except DatapathError:
            pytest.fail(f"{what}: doctor says {said}", pytrace=False)

    def wait_online(self) -> None:
        """Until status says every backend is online (exit 0); else what status and doctor say."""
        try:
            self.wait(lambda: self.status()[0] == 0, "every backend online")
        except DatapathError:
            logs = "".join(
                f"== {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-40:]) + "\n"
                for name in ("controller.log", "northd.log", "vswitchd.log")
                if (path := self.plugged.sandbox.directory / name).exists()
            )
            pytest.fail(f"{self.run('status')[1]}\n{self.run('doctor')[1]}\n{logs}", pytrace=False)

    def assert_clean(self) -> None:
        self.wait_online()
        code, findings = self.doctor()
        assert (code, findings) == (0, []), findings


def _lines(compilation: Compilation) -> dict[str, int]:
    return {b.name: b.span.line for n in compilation.document.networks for lb in n.load_balancers for b in lb.backends}


def test_status_follows_a_backend_down_and_up_and_doctor_finds_each_broken_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compilation, path = _file(tmp_path, _fast)
    line = _lines(compilation)
    with traffic_sandbox(compilation, [path]) as plugged:
        cli = Cli(plugged, path, capsys)
        wait_for_monitors(plugged, None, 60)
        cli.wait_online()

        # status, in text and in JSON, exactly.
        code, text = cli.run("status")
        assert code == 0
        assert text.splitlines()[2:] == [
            f"load balancer {ROW}",
            f"  VIP {VIP}:80 tcp",
            "    backend  target             monitor  in flows  line",
            f"    web1     10.135.209.2:8080  online   yes       {path}:{line['web1']}",
            f"    web2     10.135.209.3:8080  online   yes       {path}:{line['web2']}",
            f"    web3     10.135.209.4:8080  online   yes       {path}:{line['web3']}",
            "",
            "3 backends: 3 online",
        ]
        code, report = cli.status()
        assert report == {
            "state": "OK",
            "exit_status": 0,
            "summary": "3 backends: 3 online",
            "northbound": plugged.sandbox.nb_remote,
            "southbound": plugged.sandbox.sb_remote,
            "counts": {
                "backends": 3,
                "online": 3,
                "offline": 0,
                "error": 0,
                "no_status": 0,
                "no_monitor": 0,
                "not_applied": 0,
                "not_health_checked": 0,
            },
            "backends": [
                {
                    "load_balancer": ROW,
                    "vip": f"{VIP}:80",
                    "protocol": "tcp",
                    "backend": name,
                    "target": f"10.135.209.{n}:8080",
                    "file": path,
                    "line": line[name],
                    "monitor": "online",
                    "in_flows": True,
                }
                for n, name in ((2, "web1"), (3, "web2"), (4, "web3"))
            ],
        }
        cli.assert_clean()
        code, out = cli.run("doctor", "--format", "json")
        assert (code, json.loads(out)) == (
            0,
            {
                "exit_status": 0,
                "problems": 0,
                "notes": 0,
                "northbound": plugged.sandbox.nb_remote,
                "southbound": plugged.sandbox.sb_remote,
                "findings": [],
            },
        )

        # A backend goes down: status exits 4 and names it; doctor says why; back up, all clean.
        stop_backends(plugged, ["web2"])
        cli.wait(lambda: cli.status()[0] == 4, "web2 going offline")
        code, report = cli.status()
        assert report["summary"] == f"3 backends: 2 online, 1 offline (web2 at {path}:{line['web2']})"
        web2 = report["backends"][1]
        assert (web2["monitor"], web2["in_flows"]) == ("offline", False)
        code, out = cli.run("doctor", "--format", "json")
        assert (code, json.loads(out)) == (
            4,
            {
                "exit_status": 4,
                "problems": 1,
                "notes": 0,
                "northbound": plugged.sandbox.nb_remote,
                "southbound": plugged.sandbox.sb_remote,
                "findings": [
                    {
                        "code": "D700",
                        "severity": "problem",
                        "file": path,
                        "line": line["web2"],
                        "column": compilation.document.networks[0].load_balancers[0].backends[1].span.column,
                        "load_balancer": ROW,
                        "vip": f"{VIP}:80",
                        "backend": "web2",
                        "target": "10.135.209.3:8080",
                        "message": f"backend web2 (10.135.209.3:8080) of VIP {VIP}:80: its monitor is offline: 2 "
                        "probe(s) from 10.135.209.254 in a row got no SYN-ACK from tcp 8080 at 10.135.209.3",
                        "fix": "start the service on tcp port 8080 of 10.135.209.3, or let probes from "
                        "10.135.209.254 through its firewall",
                    }
                ],
            },
        )
        start_backends(plugged, ["web2"])
        cli.assert_clean()

        ovn, datapath = plugged.sandbox, plugged.datapath

        # D203: the port's addresses lose the backend's: no probe, and the status freezes "online".
        addresses = ovn.nbctl("get", "Logical_Switch_Port", WEB1, "addresses").strip()[2:-2]
        ovn.nbctl("lsp-set-addresses", WEB1, addresses.replace("10.135.209.2", "10.135.209.99"))
        cli.wait_doctor([("D203", "web1", line["web1"])], "D203")
        assert cli.status()[1]["backends"][0]["monitor"] == "online"  # stale: nobody probes it
        ovn.nbctl("lsp-set-addresses", WEB1, addresses)
        cli.assert_clean()

        # D202: web3's interface loses its iface-id: no chassis claims the port.
        host_end = datapath.namespaces[WEB3].name + "h"
        datapath.vsctl("remove", "Interface", host_end, "external_ids", "iface-id")
        cli.wait_doctor([("D202", "web3", line["web3"])], "D202")
        assert cli.status()[1]["backends"][2]["monitor"] == "offline"  # northd holds it so
        datapath.vsctl("set", "Interface", host_end, f"external_ids:iface-id={WEB3}")
        cli.assert_clean()

        # D204: the port is disabled; D201: the port is gone.
        ovn.nbctl("lsp-set-enabled", WEB2, "disabled")
        cli.wait_doctor([("D204", "web2", line["web2"])], "D204")
        ovn.nbctl("lsp-set-enabled", WEB2, "enabled")
        cli.assert_clean()
        ovn.nbctl("lsp-del", WEB1)
        cli.wait_doctor([("D201", "web1", line["web1"])], "D201")
        assert cli.status()[1]["backends"][0]["monitor"] == "no_monitor"
        ovn.nbctl("lsp-add", "incus-net49-ls-int", WEB1, "--", "lsp-set-addresses", WEB1, addresses)
        cli.assert_clean()

        # D200: the row loses its mapping for web3 (by hand): no monitor, and out of the flows.
        ovn.nbctl("remove", "Load_Balancer", ROW, "ip_port_mappings", "10.135.209.4")
        cli.wait_doctor([("D200", "web3", line["web3"])], "D200")
        assert cli.status()[1]["backends"][2]["in_flows"] is False
        assert main(["apply", path, "--db", ovn.nb_remote]) == 0  # the repair: what the file says
        cli.assert_clean()


def _attach_clients(network: dict[str, Any]) -> None:
    network["attach_switches"] = ["clients"]


def _reaches(plugged: TrafficSandbox, client: str, address: str, port: int) -> bool:
    answers = plugged.datapath.ask(plugged.clients[client], address, port, "tcp", 3)
    return "timeout" not in answers


def test_doctor_finds_probe_sources_vips_monitor_macs_and_attachments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compilation, path = _file(tmp_path, _fast, _attach_clients)
    line = _lines(compilation)
    network = compilation.document.networks[0]
    lb = network.load_balancers[0]
    port_line, check_line = lb.ports[0].span.line, lb.at("config.healthcheck").line
    attach_line = network.at("attach_switches[0]").line
    with traffic_sandbox(compilation, [path]) as plugged:
        cli = Cli(plugged, path, capsys)
        ovn, datapath = plugged.sandbox, plugged.datapath
        wait_for_monitors(plugged, None, 60)
        cli.assert_clean()
        apply = ["apply", path, "--db", ovn.nb_remote]

        # D600: the row leaves the clients' switch that attach_switches names, so that switch's
        # client no longer reaches the VIP (tests/test_datapath.py shows it with packets; here a
        # connection from it right after the detach crashed OVS 3.1's userspace conntrack).
        ovn.nbctl("--wait=hv", "ls-lb-del", "clients", ROW)
        assert cli.doctor() == (4, [("D600", "", attach_line)])
        ovn.nbctl("--wait=hv", "ls-lb-add", "clients", ROW)
        cli.assert_clean()
        cli.wait(lambda: _reaches(plugged, "clients", VIP, 80), "the clients' switch reaching the VIP")

        # D301: an instance takes the probe source 10.135.209.254. OVN answers ARP for it
        # with svc_monitor_mac, so that instance is unreachable; every backend's probes
        # come from an address that is now someone else's.
        ovn.nbctl(
            "lsp-add",
            "incus-net49-ls-int",
            "intruder",
            "--",
            "lsp-set-addresses",
            "intruder",
            "0a:00:00:aa:00:01 10.135.209.254",
        )
        intruder = datapath.add_namespace(
            "intruder", Interface("0a:00:00:aa:00:01", ("10.135.209.254/24",), ("10.135.209.1",))
        )
        datapath.serve(intruder, "intruder", [9999], [])
        ovn.nbctl("--wait=hv", "sync")
        assert cli.doctor() == (4, [("D301", name, line[name]) for name in ("web1", "web2", "web3")])
        assert not _reaches(plugged, "incus-net49-ls-int", "10.135.209.254", 9999)
        ovn.nbctl("lsp-del", "intruder")
        cli.assert_clean()

        # D301: web1's probes come from the router port's address (by hand). The switch then
        # answers ARP for the gateway with svc_monitor_mac: web1 loses its gateway (its pings
        # to it go unanswered), while its monitor stays online.
        ovn.nbctl("set", "Load_Balancer", ROW, f'ip_port_mappings:"10.135.209.2"="{WEB1}:10.135.209.1"')
        ovn.nbctl("--wait=hv", "sync")
        assert cli.doctor() == (4, [("D301", "web1", line["web1"])])
        web1 = datapath.namespaces[WEB1]
        datapath.run(*web1.command("ip", "neigh", "flush", "dev", "eth0"))
        assert datapath.ping(web1, "10.135.209.1", 3) == 0
        assert main(apply) == 0
        ovn.nbctl("--wait=hv", "sync")
        datapath.run(*web1.command("ip", "neigh", "flush", "dev", "eth0"))
        assert datapath.ping(web1, "10.135.209.1", 3) == 3
        cli.assert_clean()

        # D302: web2's probes come from 169.254.169.254, outside the subnet: never answered.
        ovn.nbctl("set", "Load_Balancer", ROW, f'ip_port_mappings:"10.135.209.3"="{WEB2}:169.254.169.254"')
        cli.wait(lambda: cli.status()[1]["backends"][1]["monitor"] == "offline", "web2 offline")
        assert cli.doctor() == (4, [("D302", "web2", line["web2"])])
        assert main(apply) == 0
        cli.assert_clean()

        # D401: the health check's vip is the address alone, not the vips key "10.171.5.10:80".
        (check,) = ovn.nbctl("--bare", "--columns=_uuid", "list", "Load_Balancer_Health_Check").split()
        ovn.nbctl("set", "Load_Balancer_Health_Check", check, f'vip="{VIP}"')
        cli.wait_doctor([("D401", "", port_line)], "D401")
        assert [b["monitor"] for b in cli.status()[1]["backends"]] == ["no_monitor"] * 3
        ovn.nbctl("set", "Load_Balancer_Health_Check", check, f'vip="{VIP}:80"')
        cli.assert_clean()

        # D500, D501: NB_Global's svc_monitor_mac, with ovn-northd stopped so it cannot make a new one.
        northd = int((ovn.directory / "northd.pid").read_text())
        mac = ovn.nbctl("get", "NB_Global", ".", "options:svc_monitor_mac").strip().strip('"')
        os.kill(northd, signal.SIGSTOP)
        try:
            ovn.nbctl("remove", "NB_Global", ".", "options", "svc_monitor_mac")
            assert cli.doctor() == (4, [("D500", "", check_line)])
            ovn.nbctl("set", "NB_Global", ".", "options:svc_monitor_mac=0a:00:00:00:99:99")
            assert cli.doctor() == (4, [("D501", "", check_line)])
            ovn.nbctl("set", "NB_Global", ".", f"options:svc_monitor_mac={mac}")
        finally:
            os.kill(northd, signal.SIGCONT)
        cli.assert_clean()

        # D502: the same change with ovn-northd running. It takes effect at once, and every monitor
        # goes offline together until the backends' neighbour caches forget the old MAC. (Their
        # entries for the probe source are made fresh first, as steady probing leaves them: one
        # that happened to be stale would learn the new MAC at once.)
        for port in (WEB1, WEB2, WEB3):
            datapath.run(
                *datapath.namespaces[port].command(
                    "ip", "neigh", "replace", "10.135.209.254", "lladdr", mac, "dev", "eth0", "nud", "reachable"
                )
            )
        ovn.nbctl("set", "NB_Global", ".", "options:svc_monitor_mac=0a:00:00:00:99:99")
        everyone = [("D502", "", check_line)] + [("D700", name, line[name]) for name in ("web1", "web2", "web3")]
        cli.wait_doctor(everyone, "every monitor offline at once")
        cli.wait(lambda: cli.status()[0] == 0, "the neighbour caches learning the new MAC", timeout=120)
        cli.assert_clean()

        # D100: the row is not in the database at all: not applied, with the hint to plan.
        ovn.nbctl("lb-del", ROW)
        code, text = cli.run("status")
        assert code == 4
        assert text.splitlines()[-2:] == [
            f"3 backends: 3 not applied (web1 at {path}:{line['web1']}, web2 at {path}:{line['web2']}, "
            f"web3 at {path}:{line['web3']})",
            "not applied: `ovn-lbc plan` with the same files shows what `ovn-lbc apply` would change",
        ]
        assert cli.doctor() == (4, [("D100", "", lb.span.line)])
        assert main(apply) == 0
        cli.assert_clean()


def _fast_udp_pool(network: dict[str, Any]) -> None:
    """Beside the sample's pool (Incus's defaults: a UDP monitor's first result after
    (10 + 30) x 3 s), one probed every second on udp 5353."""
    slow = network["load_balancers"][0]
    fast = {
        **slow,
        "listen_address": "2001:db8:0:100::11",
        "description": "fast probes",
        "config": {
            "healthcheck": "true",
            "healthcheck.interval": "1",
            "healthcheck.timeout": "1",
            "healthcheck.success_count": "1",
            "healthcheck.failure_count": "1",
        },
        "ports": [{"description": "", "protocol": "udp", "listen_port": "5353", "target_backend": ["dns1", "dns2"]}],
    }
    network["load_balancers"].append(fast)


def test_doctor_explains_udp_monitors_and_ipv6_brackets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compilation, path = _file(tmp_path, _fast_udp_pool, sample="ipv6-healthcheck.yaml")
    network = compilation.document.networks[0]
    slow, fast = network.load_balancers
    dns1, dns2 = (backend.span.line for backend in slow.backends)
    fast1, fast2 = (backend.span.line for backend in fast.backends)
    slow_udp, fast_udp = slow.ports[0].span.line, fast.ports[0].span.line
    fast_row = "incus-net50-lb-2001:db8:0:100::11-udp"
    with traffic_sandbox(compilation, [path]) as plugged:
        cli = Cli(plugged, path, capsys)
        ovn, datapath = plugged.sandbox, plugged.datapath
        apply = ["apply", path, "--db", ovn.nb_remote]

        def settled() -> bool:  # every monitor online but the slow pool's UDP ones, which wait
            return [b["monitor"] for b in cli.status()[1]["backends"]] == ["online"] * 2 + ["no_status"] * 2 + [
                "online"
            ] * 2

        cli.wait(settled, "the TCP and fast UDP monitors online")
        # The slow UDP monitors wait their first result (a note, not a problem), and every
        # UDP VIP says what its monitors prove; status counts the waiting ones as not online.
        code, findings = cli.doctor()
        assert (code, findings) == (
            0,
            sorted(
                [
                    ("D701", "dns1", dns1),
                    ("D701", "dns2", dns2),
                    ("D702", "", slow_udp),
                    ("D702", "", fast_udp),
                ],
                key=lambda f: (f[2], f[0]),
            ),
        )
        code, report = cli.status()
        assert code == 4
        assert report["summary"] == (
            f"6 backends: 4 online, 2 no status yet (dns1 at {path}:{dns1}, dns2 at {path}:{dns2})"
        )
        assert report["backends"][4]["target"] == "[fd42:1:2:3::2]:5353"
        notes = [("D701", "dns1", dns1), ("D701", "dns2", dns2), ("D702", "", slow_udp), ("D702", "", fast_udp)]

        def problems() -> list[tuple[str, str, int]]:
            return [finding for finding in cli.doctor()[1] if finding not in notes]

        # dns1's server stops: its host answers the UDP probes with ICMP port unreachable (offline),
        # and its TCP port refuses.
        stop_backends(plugged, ["dns1"])
        cli.wait(lambda: ("D700", "dns1", fast1) in problems(), "dns1's fast UDP monitor going offline")
        code, out = cli.run("doctor", "--format", "json")
        (udp,) = [f for f in json.loads(out)["findings"] if f["code"] == "D700" and f["vip"].endswith(":5353")]
        assert "ICMP port unreachable" in udp["message"] and udp["target"] == "[fd42:1:2:3::2]:5353"

        # dns1 comes back as a server that answers every datagram, OVN's probes too: still online.
        ns = datapath.namespaces[next(lsp for lsp, names in plugged.served.items() if "dns1" in names)]
        datapath.serve(ns, "dns1", [53], [53, 5353], answer_all=True)
        cli.wait(lambda: problems() == [], "dns1 online again, answering the probes")
        fast_dns1 = next(
            b for b in cli.status()[1]["backends"] if b["vip"].endswith(":5353") and b["backend"] == "dns1"
        )
        assert (fast_dns1["monitor"], fast_dns1["in_flows"]) == ("online", True)

        # An unbracketed IPv6 key in ip_port_mappings (the mismatch Incus once shipped): northd
        # looks dns2 up as "[fd42:1:2:3::3]", makes no monitor and drops it from the flows.
        (uuid,) = ovn.nbctl(
            "--bare", "--columns=_uuid", "find", "Load_Balancer", f"name={json.dumps(fast_row)}"
        ).split()
        value = ovn.nbctl("get", "Load_Balancer", uuid, 'ip_port_mappings:"[fd42:1:2:3::3]"').strip()
        ovn.nbctl("remove", "Load_Balancer", uuid, "ip_port_mappings", '"[fd42:1:2:3::3]"')
        ovn.nbctl("set", "Load_Balancer", uuid, f'ip_port_mappings:"fd42:1:2:3::3"={value}')
        cli.wait(lambda: problems() == [("D200", "dns2", fast2)], "D200 for the unbracketed key")
        fast_dns2 = next(
            b for b in cli.status()[1]["backends"] if b["vip"].endswith(":5353") and b["backend"] == "dns2"
        )
        assert (fast_dns2["monitor"], fast_dns2["in_flows"]) == ("no_monitor", False)
        assert main(apply) == 0
        cli.wait(lambda: problems() == [], "dns2 monitored again")

        # An unbracketed IPv6 vip in the health check: not exactly the vips key, no monitor.
        (check,) = ovn.nbctl("--bare", "--columns=health_check", "list", "Load_Balancer", uuid).split()
        ovn.nbctl("set", "Load_Balancer_Health_Check", check, 'vip="2001:db8:0:100::11:5353"')
        cli.wait(lambda: problems() == [("D401", "", fast_udp)], "D401 for the unbracketed vip")
        assert main(apply) == 0
        cli.wait(lambda: problems() == [], "the fast pool's health check back")
