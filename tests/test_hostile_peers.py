"""Peers that misbehave: silent, slow, babbling, flooding, endless, malformed.

Each fake peer is a thread serving a unix socket in the test's tmp_path (no
other address is used); every wait in it is bounded, and the fixture stops
and joins every thread and closes every socket, also when a test fails.
What is about OVN itself (the data behind a proxy, a cluster's good member)
is a real ovsdb-server. ``ovn-lbc`` runs as a subprocess with a timeout
wherever today's code would hang, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology, find_schema

from .conftest import ROOT, SAMPLES
from .helpers import dump_table, nb_dump, transact

SAMPLE = SAMPLES / "ipv4-healthcheck.yaml"
LB_NAME = "incus-net49-lb-10.171.5.10-tcp"
# How long any one wait of a test may take; far above what a passing run needs.
BOUND = 30.0


class Session:
    """One accepted connection, seen from the fake peer."""

    def __init__(self, conn: socket.socket, stop: threading.Event) -> None:
        self.conn = conn
        self.stop = stop
        self.buffer = b""
        self.received: list[dict[str, Any]] = []
        conn.settimeout(0.05)

    def _fill(self) -> bool:
        """Read what has arrived; False once the client hung up."""
        try:
            chunk = self.conn.recv(1 << 16)
        except TimeoutError:
            return True
        if not chunk:
            return False
        self.buffer += chunk
        decoder = json.JSONDecoder()
        while True:
            text = self.buffer.decode("utf-8", "replace").lstrip()
            if not text:
                self.buffer = b""
                break
            try:
                message, end = decoder.raw_decode(text)
            except ValueError:
                break
            self.received.append(message)
            self.buffer = text[end:].encode()
        return True

    def request(self, timeout: float = BOUND) -> dict[str, Any] | None:
        """The client's next message (None when it hung up, or at stop)."""
        deadline = time.monotonic() + timeout
        seen = len(self.received)
        while not self.stop.is_set() and time.monotonic() < deadline:
            if len(self.received) > seen:
                return self.received[seen]
            if not self._fill():
                return None
        return None

    def send(self, data: bytes | dict[str, Any]) -> bool:
        if isinstance(data, dict):
            data = json.dumps(data).encode()
        try:
            self.conn.sendall(data)
        except (TimeoutError, OSError):
            return False
        return True

    def idle(self) -> None:
        """Read and drop whatever comes, never answer, until stop or hang-up."""
        while not self.stop.is_set() and self._fill():
            pass

    def flood(self, message: bytes) -> None:
        """Send ``message`` again and again, reading what comes back, until stop or hang-up."""
        while not self.stop.is_set():
            readable, writable, _ = select.select([self.conn], [self.conn], [], 0.05)
            if readable and not self._fill():
                return
            if writable and not self.send(message * 64):
                return


Behaviour = Callable[[Session], None]


class FakePeer:
    """A misbehaving server on a unix socket; ``behaviour`` runs once per connection."""

    def __init__(self, path: Path, behaviour: Behaviour) -> None:
        self.path = path
        self.behaviour = behaviour
        self.stop_event = threading.Event()
        self.sessions: list[Session] = []
        self.threads: list[threading.Thread] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    @property
    def remote(self) -> str:
        return f"unix:{self.path}"

    def start(self) -> FakePeer:
        self.listener.bind(str(self.path))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        thread = threading.Thread(target=self._accept, name=f"fake-peer {self.path.name}")
        self.threads.append(thread)
        thread.start()
        return self

    def _accept(self) -> None:
        while not self.stop_event.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            session = Session(conn, self.stop_event)
            self.sessions.append(session)
            thread = threading.Thread(target=self._serve, args=(session,), name=f"fake-peer session {self.path.name}")
            self.threads.append(thread)
            thread.start()

    def _serve(self, session: Session) -> None:
        try:
            self.behaviour(session)
        except OSError:
            pass
        finally:
            session.conn.close()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in list(self.threads):
            thread.join(timeout=BOUND)
        self.listener.close()
        for session in self.sessions:
            session.conn.close()
        alive = [thread.name for thread in self.threads if thread.is_alive()]
        assert not alive, f"fake peer threads still running: {alive}"


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Callable[..., FakePeer]]:
    started: list[FakePeer] = []

    def start(behaviour: Behaviour, name: str = "peer") -> FakePeer:
        fake = FakePeer(tmp_path / f"{name}.sock", behaviour)
        started.append(fake)
        return fake.start()

    try:
        yield start
    finally:
        for fake in started:
            fake.stop()


def run_cli(*args: str, timeout: float = BOUND, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``ovn-lbc ARGS`` as a child, killed after ``timeout`` (a hang fails the test instead of stalling it)."""
    return subprocess.run(
        [sys.executable, "-m", "compiler", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    err = result.stderr
    assert result.returncode == code, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    return err


# -- an OVSDB server in the small: enough to get past connect and get_schema ---------------


def nb_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(find_schema("ovn-nb.ovsschema").read_text())
    return schema


def answer(request: dict[str, Any], result: Any) -> dict[str, Any]:
    return {"id": request["id"], "result": result, "error": None}


def ovsdb(on_read: Callable[[Session, dict[str, Any]], None]) -> Behaviour:
    """Answers as a standalone server up to the first Northbound transact, which ``on_read`` handles."""

    def behaviour(session: Session) -> None:
        while (request := session.request()) is not None:
            params = request.get("params") or [None]
            if request.get("method") == "get_schema":
                session.send(answer(request, nb_schema()))
            elif params[0] == "_Server":
                session.send({"id": request["id"], "result": None, "error": {"error": "unknown database"}})
            elif request.get("method") == "transact":
                on_read(session, request)
                return

    return behaviour


def empty_read(session: Session, request: dict[str, Any]) -> None:
    """The reads of an empty database."""
    session.send(answer(request, [{"rows": []} for _ in request["params"][1:]]))
    session.idle()


def silent(session: Session) -> None:
    session.idle()


# -- 1. silence: every command ends, --timeout bounds it, the error names the remote -----------------


def saved_plan(ovn: Sandbox, tmp_path: Path) -> Path:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    path = tmp_path / "plan.json"
    assert main(["plan", str(SAMPLE), "--db", ovn.nb_remote, "--format", "json", "-o", str(path)]) == 0
    return path


def test_a_silent_server_ends_every_command_within_its_timeout(
    ovn: Sandbox, tmp_path: Path, peer: Callable[..., FakePeer]
) -> None:
    plan_file = saved_plan(ovn, tmp_path)
    quiet = peer(silent)
    for command in (
        ["plan", str(SAMPLE)],
        ["apply", str(SAMPLE)],
        ["destroy", str(SAMPLE)],
        ["apply", "--plan-file", str(plan_file)],
    ):
        started = time.monotonic()
        result = run_cli(*command, "--db", quiet.remote, "--timeout", "1")
        assert time.monotonic() - started < 15
        assert_one_line(result, 3, f"{quiet.remote}: connected, but no answer to transact", "--timeout")


def test_a_bad_file_does_not_wait_for_a_silent_database(tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    """The database is read beside the compile (compiler.apply.EarlyRead): a bad file
    still ends at once with exit 1, saying only what is wrong with the file, even
    when the database would hold a read for the default 60 s."""
    quiet = peer(silent)
    bad = tmp_path / "bad.yaml"
    bad.write_text("networks: [\n")
    for command in ("plan", "apply", "destroy"):
        started = time.monotonic()
        result = run_cli(command, str(bad), "--db", quiet.remote)  # no --timeout
        assert time.monotonic() - started < 10
        assert result.returncode == 1 and "error[E100]" in result.stderr, result.stderr
        assert quiet.remote not in result.stderr and "Traceback" not in result.stderr


def test_a_bad_file_against_a_quick_database_leaves_no_connection_open(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The read beside the compile may be done before the file turns out bad:
    its connection is closed then too, not left for the collector."""
    from compiler.apply import EarlyRead
    from compiler.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("networks: [\n")
    made: list[EarlyRead] = []
    original = EarlyRead.__init__

    def remembered(self: EarlyRead, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._thread.join()  # the read is whole before the file is read
        made.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EarlyRead, "__init__", remembered)
        assert main(["apply", str(bad), "--db", ovn.nb_remote]) == 1
    assert "error[E100]" in capsys.readouterr().err
    (early,) = made
    assert early._connection is not None and early._connection.sock.fileno() == -1  # closed


def test_a_server_silent_after_the_schema_is_bounded_by_timeout(tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    """Connected, schema read, then nothing: the read is bounded by --timeout (the whole command)."""
    quiet = peer(ovsdb(lambda session, request: session.idle()))
    started = time.monotonic()
    result = run_cli("apply", str(SAMPLE), "--db", quiet.remote, "--timeout", "1.5")
    assert 1.4 < time.monotonic() - started < 15
    assert_one_line(result, 3, f"{quiet.remote}: no answer to transact before the command's --timeout ran out")


def test_a_reply_dripped_byte_by_byte_is_bounded_by_the_whole_timeout(
    tmp_path: Path, peer: Callable[..., FakePeer]
) -> None:
    """A peer that keeps sending (one byte at a time) never trips a per-read timeout; the deadline stops it."""

    def drip(session: Session, request: dict[str, Any]) -> None:
        session.send(b'{"id": %d, "result": [' % request["id"])
        while not session.stop.is_set() and session.send(b" "):
            time.sleep(0.02)

    slow = peer(ovsdb(drip))
    started = time.monotonic()
    result = run_cli("plan", str(SAMPLE), "--db", slow.remote, "--timeout", "1.5")
    assert time.monotonic() - started < 15
    assert_one_line(result, 3, "an incomplete answer", "to transact before the command's --timeout ran out")


def test_each_request_has_its_own_bound_without_timeout(tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    from compiler.ovsdb.client import CONNECT_TIMEOUT, REQUEST_TIMEOUT, Limits, PeerError, connect

    assert (CONNECT_TIMEOUT, REQUEST_TIMEOUT) == (10.0, 60.0)  # the documented defaults
    assert Limits() == Limits(connect=10.0, request=60.0, total=None, max_reply=1 << 30)
    quiet = peer(silent, "quiet")
    started = time.monotonic()
    with pytest.raises(PeerError, match=r"connected, but no answer to transact within 0\.3 s"):
        connect(quiet.remote, "OVN_Northbound", limits=Limits(connect=0.3))
    late = peer(ovsdb(lambda session, request: session.idle()), "late")
    with connect(late.remote, "OVN_Northbound", limits=Limits(request=0.3)) as connection:
        connection.call("get_schema", ["OVN_Northbound"])
        with pytest.raises(PeerError, match=r"no answer to transact within 0\.3 s") as raised:
            connection.call("transact", ["OVN_Northbound"])
        assert raised.value.sent
    assert time.monotonic() - started < 10


def test_a_silent_first_member_of_a_cluster_is_skipped(
    ovn: Sandbox, tmp_path: Path, peer: Callable[..., FakePeer], capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    quiet = peer(silent)
    started = time.monotonic()
    result = run_cli("apply", str(SAMPLE), "--db", f"{quiet.remote},{ovn.nb_remote}", "--timeout", "4")
    assert result.returncode == 0, result.stderr
    assert f"to {ovn.nb_remote}" in result.stderr
    assert time.monotonic() - started < 15
    assert [row["name"] for row in dump_table(ovn, "Load_Balancer")] == [LB_NAME]
    # All members silent or down: each one's fate, in order.
    other = peer(silent, "other")
    result = run_cli("plan", str(SAMPLE), "--db", f"{quiet.remote},{other.remote},unix:{tmp_path}/none.sock")
    err = assert_one_line(result, 3, "cannot connect to any remote")
    assert err.index(quiet.remote) < err.index(other.remote) < err.index("none.sock: No such file or directory")
    assert err.count("connected, but no answer to transact within") == 2


# -- 2. babble: garbage, bad UTF-8, floods, endless and brace-ending replies -------------------------


def replying(payload: bytes) -> Behaviour:
    def behaviour(session: Session) -> None:
        if session.request() is not None:
            session.send(payload)
            session.idle()

    return behaviour


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "not JSON-RPC"),
        (b'{"id": 1, "result": "\xff\xfe"}', "invalid UTF-8"),
        (b"\x15\x03\x01\x00\x02\x02\x46", "not JSON-RPC"),  # a TLS alert, as an ssl: server answers tcp:
        (b'{"id": 1, "result": [' + b"[" * 100_000, "nested more than"),
        (b'{"id": 1, "result": ' + b"7" * 5000 + b"}", "not JSON-RPC"),  # beyond int's 4,300 digits
        (b"[1, 2, 3]", "not a JSON-RPC message"),
        (b'{"id": 1, "result": {"a": 1} "b"}', "not JSON-RPC"),
    ],
    ids=["http", "bad-utf8", "tls-alert", "deep", "digits", "array", "broken-object"],
)
def test_garbage_is_one_line_at_once(payload: bytes, words: str, tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    bad = peer(replying(payload))
    started = time.monotonic()
    result = run_cli("plan", str(SAMPLE), "--db", bad.remote)
    assert time.monotonic() - started < 8  # at once, not at a timeout
    assert_one_line(result, 3, bad.remote, words)


def test_an_echo_flood_is_answered_and_ends_at_the_deadline(tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    sessions: list[Session] = []

    def echo_flood(session: Session) -> None:
        sessions.append(session)
        session.request()
        session.flood(b'{"method":"echo","params":["ping"],"id":"echo"}')

    noisy = peer(echo_flood)
    started = time.monotonic()
    result = run_cli("plan", str(SAMPLE), "--db", noisy.remote, "--timeout", "1.5")
    assert time.monotonic() - started < 15
    # At the deadline: still waiting for the answer, or for the flood to take in ours.
    err = assert_one_line(result, 3)
    assert "no answer to transact" in err or "the server stopped reading the answer to its echo" in err, err
    answers = [m for m in sessions[0].received if m.get("id") == "echo"]
    assert answers and answers[0] == {"result": ["ping"], "error": None, "id": "echo"}


def test_a_notification_flood_is_ignored_and_ends_at_the_deadline(
    tmp_path: Path, peer: Callable[..., FakePeer]
) -> None:
    def notification_flood(session: Session) -> None:
        session.request()
        session.flood(b'{"method":"update","params":[null,{"Load_Balancer":{}}],"id":null}\n')

    noisy = peer(notification_flood)
    started = time.monotonic()
    result = run_cli("plan", str(SAMPLE), "--db", noisy.remote, "--timeout", "1.5")
    assert time.monotonic() - started < 15
    assert_one_line(result, 3, "no answer to transact")


def test_a_reply_that_never_ends_stops_at_the_size_limit(tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    import resource

    def endless(session: Session) -> None:
        request = session.request()
        if request is not None:
            session.send(b'{"id": %d, "result": ["' % request["id"])
            session.flood(b"x" * 4096)

    huge = peer(endless)
    for limit_args, env, shown in (
        (["--max-reply", "8M"], {}, "8,388,608"),
        ([], {"OVN_LBC_MAX_REPLY": "4M"}, "4,194,304"),
    ):
        result = run_cli("plan", str(SAMPLE), "--db", huge.remote, *limit_args, env=env)
        assert_one_line(result, 3, f"a message of more than {shown} bytes", "--max-reply")
    # The children stayed small: the limit held, nothing grew past it.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 400 * 1024


def test_bad_sizes_are_usage_errors() -> None:
    for args, env in ((["--max-reply", "lots"], {}), ([], {"OVN_LBC_MAX_REPLY": "0"})):
        result = run_cli("plan", str(SAMPLE), "--db", "unix:/nonexistent", *args, env=env)
        assert result.returncode == 2 and "--max-reply" in result.stderr and "Traceback" not in result.stderr


# -- 3. well-formed JSON, wrong shapes: the schema, the tables, the results ----------------------------


def schema_is(schema: Any) -> Behaviour:
    def behaviour(session: Session) -> None:
        while (request := session.request()) is not None:
            if request.get("method") == "get_schema":
                session.send(answer(request, schema))
            else:
                session.send({"id": request["id"], "result": None, "error": {"error": "unknown database"}})

    return behaviour


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ([], "not an OVSDB schema"),
        ({"tables": []}, "not an OVSDB schema"),
        ({"version": "7.0.0", "tables": {"Load_Balancer": []}}, "table Load_Balancer has no object of columns"),
        ({"version": "7.0.0", "tables": {}}, "has no table"),
        ("schema", "not an OVSDB schema"),
    ],
    ids=["list", "tables-list", "table-list", "no-tables", "string"],
)
def test_a_malformed_schema_is_one_line(schema: Any, words: str, tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    bad = peer(schema_is(schema))
    assert_one_line(run_cli("plan", str(SAMPLE), "--db", bad.remote), 3, words)


@pytest.mark.parametrize(
    "result",
    [
        lambda n: "rows",
        lambda n: list(range(n)),
        lambda n: [{"rows": "none"}] * n,
        lambda n: [{"rows": [["not", "an", "object"]]}] * n,
        lambda n: [{"rows": [{"_uuid": "no-uuid", "name": 7}]}] * n,
        lambda n: [{"rows": [{"_uuid": ["uuid", "u"], "vips": ["map", "x"], "name": "a"}]}] * n,
        lambda n: [{"rows": []}] * (n - 1),
    ],
    ids=["string", "numbers", "rows-string", "row-list", "bad-uuid", "bad-map", "short"],
)
def test_malformed_tables_are_one_line(
    result: Callable[[int], Any], tmp_path: Path, peer: Callable[..., FakePeer]
) -> None:
    def malformed(session: Session, request: dict[str, Any]) -> None:
        session.send(answer(request, result(len(request["params"]) - 1)))
        session.idle()

    bad = peer(ovsdb(malformed))
    assert_one_line(run_cli("plan", str(SAMPLE), "--db", bad.remote), 3, "cannot read the Northbound tables")


# -- 4. a real server behind a proxy that fails at the write: outcomes, waits, SIGINT ------------------------

WRITES = {"insert", "delete", "mutate", "update"}


def is_write(message: dict[str, Any]) -> bool:
    params = message.get("params") or [None]
    return (
        message.get("method") == "transact"
        and params[0] == "OVN_Northbound"
        and any(isinstance(op, dict) and op.get("op") in WRITES for op in params[1:])
    )


def proxy(ovn: Sandbox, at_write: str, seen: threading.Event, garbled: Any = None) -> Behaviour:
    """Forward to ``ovn``'s real NB server until the first write transaction, then:
    "hold" keeps it (never forwarded), "swallow" forwards it and keeps its answer,
    "hang-up" forwards it and its answer, then hangs up at the client's next request,
    "garble" keeps it and answers ``garbled(operations)`` itself."""

    def behaviour(session: Session) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.settimeout(BOUND)
        try:
            upstream.connect(ovn.nb_remote.removeprefix("unix:"))
            forwarded = len(session.received)
            wrote = False
            while not session.stop.is_set():
                readable, _, _ = select.select([session.conn, upstream], [], [], 0.05)
                if session.conn in readable and not session._fill():
                    return
                for message in session.received[forwarded:]:
                    if wrote and at_write == "hang-up":
                        return
                    if is_write(message) and not wrote:
                        wrote = True
                        seen.set()
                        if at_write == "garble":
                            session.send(answer(message, garbled(len(message["params"]) - 1)))
                        if at_write in ("hold", "garble"):
                            continue
                    upstream.sendall(json.dumps(message).encode())
                forwarded = len(session.received)
                if upstream in readable:
                    data = upstream.recv(1 << 16)
                    if not data:
                        return
                    if not (wrote and at_write == "swallow"):
                        session.send(data)
        finally:
            upstream.close()

    return behaviour


def plan_says(ovn: Sandbox) -> str:
    result = run_cli("plan", str(SAMPLE), "--db", ovn.nb_remote)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split(".")[0] + "."


def test_wait_needs_nb_global_and_checks_before_sending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import require_ovn

    require_ovn()
    with Sandbox(str(tmp_path / "no-northd"), northd=False) as bare:  # northd would make NB_Global again
        build_topology(bare, compile_files([str(SAMPLE)]).document)
        # Whatever made the topology, no NB_Global row is left (ovn-nbctl makes one, northd too).
        transact(bare, '["OVN_Northbound", {"op": "delete", "table": "NB_Global", "where": []}]')
        assert dump_table(bare, "NB_Global") == []
        before = nb_dump(bare)
        capsys.readouterr()
        assert main(["apply", str(SAMPLE), "--db", bare.nb_remote, "--wait=sb"]) == 3
        err = capsys.readouterr().err
        assert "--wait=sb needs the database's NB_Global row and it has none" in err and "nothing was sent" in err
        assert nb_dump(bare) == before


def test_a_wait_that_times_out_after_the_commit_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import require_ovn

    require_ovn()
    with Sandbox(str(tmp_path / "no-northd"), northd=False) as lonely:  # nobody will bump sb_cfg
        build_topology(lonely, compile_files([str(SAMPLE)]).document)
        lonely.nbctl("init")  # the NB_Global row, as a database with northd down has it
        started = time.monotonic()
        assert main(["apply", str(SAMPLE), "--db", lonely.nb_remote, "--wait=sb", "--timeout", "1.5"]) == 4
        assert time.monotonic() - started < 10
        err = capsys.readouterr().err
        assert "the changes are committed, but ovn-northd did not catch up" in err and err.count("\n") == 1
        assert [row["name"] for row in dump_table(lonely, "Load_Balancer")] == [LB_NAME]


def test_a_wait_cut_off_after_the_commit_exits_4(ovn: Sandbox, peer: Callable[..., FakePeer]) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    seen = threading.Event()
    flaky = peer(proxy(ovn, "hang-up", seen))
    result = run_cli("apply", str(SAMPLE), "--db", flaky.remote, "--wait=sb")
    assert_one_line(result, 4, "the changes are committed, but waiting for ovn-northd failed", "closed the connection")
    assert plan_says(ovn) == "No changes."


@pytest.mark.parametrize("at_write", ["hold", "swallow"])
def test_no_answer_to_the_write_is_outcome_unknown_and_atomic(
    at_write: str, ovn: Sandbox, peer: Callable[..., FakePeer]
) -> None:
    """Exit 3 promises nothing was applied; with the transaction sent and no answer, that is not known (5)."""
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    before = nb_dump(ovn)
    seen = threading.Event()
    stalling = peer(proxy(ovn, at_write, seen))
    result = run_cli("apply", str(SAMPLE), "--db", stalling.remote, "--timeout", "3")
    assert_one_line(result, 5, "no answer to transact", "it is applied whole or not at all")
    # One transaction: all of it or none of it, never part.
    if at_write == "hold":
        assert nb_dump(ovn) == before
    else:
        assert plan_says(ovn) == "No changes."


@pytest.mark.parametrize("at_write", ["hold", "swallow"])
def test_sigint_during_apply_is_one_line_exit_130_and_atomic(
    at_write: str, ovn: Sandbox, tmp_path: Path, peer: Callable[..., FakePeer]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    before = nb_dump(ovn)
    seen = threading.Event()
    stalling = peer(proxy(ovn, at_write, seen))
    child = subprocess.Popen(
        [sys.executable, "-m", "compiler", "apply", str(SAMPLE), "--db", stalling.remote],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert seen.wait(BOUND), "apply never sent its transaction"
        time.sleep(0.2)  # into the wait for the answer
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=BOUND)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "ovn-lbc: apply: interrupted with the transaction sent: it is applied whole or not at all" in err
    if at_write == "hold":
        assert nb_dump(ovn) == before
    else:
        assert plan_says(ovn) == "No changes."


def test_sigint_before_connecting_says_nothing_was_written(tmp_path: Path, peer: Callable[..., FakePeer]) -> None:
    quiet = peer(silent)
    child = subprocess.Popen(
        [sys.executable, "-m", "compiler", "plan", str(SAMPLE), "--db", quiet.remote],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + BOUND
        while not quiet.sessions and time.monotonic() < deadline:
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=BOUND)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130 and err == "ovn-lbc: plan: interrupted; nothing was written\n", err


@pytest.mark.parametrize(
    "garbled",
    [lambda n: "committed", lambda n: list(range(n)), lambda n: [{}], lambda n: [None] * n, lambda n: {"rows": []}],
    ids=["string", "numbers", "short", "nulls", "object"],
)
def test_a_malformed_answer_to_the_write_is_outcome_unknown(
    garbled: Callable[[int], Any], ovn: Sandbox, peer: Callable[..., FakePeer]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    seen = threading.Event()
    liar = peer(proxy(ovn, "garble", seen, garbled))
    result = run_cli("apply", str(SAMPLE), "--db", liar.remote)
    assert_one_line(result, 5, "the answer to the transaction", "it is applied whole or not at all")
    assert seen.is_set()
