"""A three-member clustered (RAFT) Northbound database with its leader stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.sandbox import build_topology, find_schema, search_path

from .conftest import SAMPLES, require_ovn


class Cluster:
    def __init__(self, directory: Path) -> None:
        self.d = directory
        self.env = {**os.environ, "PATH": search_path(), "OVS_RUNDIR": str(directory), "OVS_LOGDIR": str(directory)}
        self.members = [1, 2, 3]

    def run(self, *args: str) -> str:
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, check=False, timeout=60)
        assert result.returncode == 0, f"{' '.join(args[:2])}: {result.stderr}"
        return result.stdout

    def remote(self, member: int) -> str:
        return f"unix:{self.d / f'nb{member}.sock'}"

    @property
    def remotes(self) -> str:
        return ",".join(self.remote(m) for m in (1, 2, 3))

    def start(self) -> None:
        d = self.d
        self.run(
            "ovsdb-tool",
            "create-cluster",
            str(d / "nb1.db"),
            str(find_schema("ovn-nb.ovsschema")),
            f"unix:{d / 'nb1.raft'}",
        )
        for member in (2, 3):
            self.run(
                "ovsdb-tool", "join-cluster", str(d / f"nb{member}.db"), "OVN_Northbound",
                f"unix:{d / f'nb{member}.raft'}", f"unix:{d / 'nb1.raft'}",
            )  # fmt: skip
        for member in self.members:
            self.run(
                "ovsdb-server", "--detach", "--no-chdir", f"--pidfile={d / f'nb{member}.pid'}",
                f"--log-file={d / f'nb{member}.log'}", f"--remote=punix:{d / f'nb{member}.sock'}",
                f"--unixctl={d / f'nb{member}.ctl'}", str(d / f"nb{member}.db"),
            )  # fmt: skip
        self.run("ovsdb-client", "wait", self.remote(1), "OVN_Northbound", "connected")
        for member in (2, 3):
            self.run("ovsdb-client", "wait", self.remote(member), "OVN_Northbound", "connected")

    def role(self, member: int) -> str:
        status = self.run("ovs-appctl", "-t", str(self.d / f"nb{member}.ctl"), "cluster/status", "OVN_Northbound")
        return next(line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("Role:"))

    def leader(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for member in self.members:
                if self.role(member) == "leader":
                    return member
            time.sleep(0.1)
        raise AssertionError("no leader elected")

    def stop(self, member: int) -> None:
        pid = int((self.d / f"nb{member}.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        self.members.remove(member)

    def stop_all(self) -> None:
        for member in list(self.members):
            self.stop(member)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    require_ovn()
    c = Cluster(tmp_path)
    try:
        c.start()
        yield c
    finally:
        c.stop_all()


def test_apply_survives_a_stopped_leader(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    document = compile_files([str(sample)]).document
    build_topology(cluster.remotes, document)

    old_leader = cluster.leader()
    cluster.stop(old_leader)
    new_leader = cluster.leader()
    assert new_leader != old_leader

    assert main(["apply", str(sample), "--db", cluster.remotes]) == 0
    assert f"to {cluster.remote(new_leader)} " in capsys.readouterr().err  # the leader was preferred
    for member in cluster.members:
        names = cluster.run(
            "ovn-nbctl",
            "--no-leader-only",
            f"--db={cluster.remote(member)}",
            "--bare",
            "--columns=name",
            "list",
            "Load_Balancer",
        )
        assert sorted(names.split()) == ["incus-net49-lb-10.171.5.10-tcp", "incus-net49-lb-10.171.5.20-tcp"]
        nat = cluster.run(
            "ovn-nbctl", "--no-leader-only", f"--db={cluster.remote(member)}", "--bare",
            "--columns=external_ip,logical_ip", "list", "NAT",
        )  # fmt: skip
        assert nat.split() == ["10.171.5.20", "10.135.209.9"]  # the forward's default target
