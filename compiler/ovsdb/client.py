"""A small OVSDB JSON-RPC client (RFC 7047) on standard-library sockets.

Remotes are written as ovn-nbctl writes them: ``unix:PATH``,
``tcp:HOST:PORT``, ``ssl:HOST:PORT`` (IPv6 hosts in brackets). A comma list
is a clustered database: every member is tried, the RAFT leader preferred
(the ``_Server`` database says which one leads), and a member that is down is
skipped.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any

DEFAULT_REMOTE = "unix:/var/run/ovn/ovnnb_db.sock"


class OvsdbError(Exception):
    """The server could not be reached, or answered with an error."""


@dataclass(frozen=True, slots=True)
class SslFiles:
    private_key: str | None = None
    certificate: str | None = None
    ca_cert: str | None = None


def _host_port(address: str, remote: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise OvsdbError(f"remote {remote!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def _ends_in_brace(data: bytearray) -> bool:
    """Whether the last byte other than whitespace is "}" (looked at without copying the buffer)."""
    end = len(data)
    while end and data[end - 1] in b" \t\r\n":
        end -= 1
    return end > 0 and data[end - 1] == ord("}")


class Connection:
    """One JSON-RPC session. Echo requests from the server are answered."""

    def __init__(self, sock: socket.socket, remote: str) -> None:
        self.sock = sock
        self.remote = remote
        self._ids = itertools.count(1)
        self._pending = bytearray()
        self._decoder = json.JSONDecoder()

    @classmethod
    def open(cls, remote: str, ssl_files: SslFiles | None = None, timeout: float = 10.0) -> Connection:
        kind, _, address = remote.partition(":")
        try:
            if kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.settimeout(timeout)
                    sock.connect(address)
                except OSError:
                    sock.close()
                    raise
            elif kind in ("tcp", "ssl"):
                sock = socket.create_connection(_host_port(address, remote), timeout=timeout)
                if kind == "ssl":
                    files = ssl_files or SslFiles()
                    if not (files.private_key and files.certificate and files.ca_cert):
                        sock.close()
                        raise OvsdbError(f"{remote}: ssl needs --private-key, --certificate and --ca-cert")
                    context = ssl.create_default_context(cafile=files.ca_cert)
                    # OVN's PKI certificates name no host; the CA is what is checked.
                    context.check_hostname = False
                    context.load_cert_chain(files.certificate, files.private_key)
                    sock = context.wrap_socket(sock)
            else:
                raise OvsdbError(f"remote {remote!r}: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT")
        except OSError as exc:
            raise OvsdbError(f"{remote}: {exc.strerror or exc}") from None
        sock.settimeout(None)
        return cls(sock, remote)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise OvsdbError(f"{self.remote}: {exc.strerror or exc}") from None

    def _receive(self) -> dict[str, Any]:
        # Bytes until a whole message is in: a chunk may end inside a UTF-8
        # character. Parsing is tried only when the data ends in "}", the last
        # byte of every message: trying after every chunk re-parsed a 10 MB
        # answer some 70 times (5 s of the 7 s it took to read 10,000 rows).
        while True:
            if _ends_in_brace(self._pending):
                try:
                    text = self._pending.decode("utf-8").lstrip()
                    message, end = self._decoder.raw_decode(text)
                except (UnicodeDecodeError, json.JSONDecodeError):
                    pass  # incomplete: read more
                else:
                    self._pending = bytearray(text[end:].encode("utf-8"))
                    if not isinstance(message, dict):
                        raise OvsdbError(f"{self.remote}: unexpected message {message!r}")
                    return message
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError as exc:
                raise OvsdbError(f"{self.remote}: {exc.strerror or exc}") from None
            if not chunk:
                raise OvsdbError(f"{self.remote}: the server closed the connection")
            self._pending += chunk

    def call(self, method: str, params: list[Any]) -> Any:
        """Send one request and return its result; raise on a JSON-RPC error."""
        request_id = next(self._ids)
        self._send({"method": method, "params": params, "id": request_id})
        while True:
            message = self._receive()
            if message.get("method") == "echo" and "id" in message:
                self._send({"result": message.get("params", []), "error": None, "id": message["id"]})
                continue
            if message.get("id") != request_id:
                continue  # a notification (update, locked, ...): not ours
            if message.get("error") is not None:
                raise OvsdbError(f"{self.remote}: {method} failed: {message['error']}")
            return message.get("result")

    # -- helpers -----------------------------------------------------------

    def is_cluster_leader(self, database: str) -> bool | None:
        """True/False for a RAFT member, None for a standalone server."""
        try:
            result = self.call(
                "transact",
                [
                    "_Server",
                    {
                        "op": "select",
                        "table": "Database",
                        "where": [["name", "==", database]],
                        "columns": ["model", "leader", "connected"],
                    },
                ],
            )
        except OvsdbError:
            return None  # an old server without _Server: standalone
        rows = result[0].get("rows", []) if result and isinstance(result[0], dict) else []
        if not rows or rows[0].get("model") != "clustered":
            return None
        return bool(rows[0].get("leader")) and bool(rows[0].get("connected"))


def connect(remotes: str, database: str, ssl_files: SslFiles | None = None) -> Connection:
    """Connect to a (possibly clustered) database, preferring the RAFT leader."""
    problems: list[str] = []
    follower: Connection | None = None
    for remote in [r.strip() for r in remotes.split(",") if r.strip()]:
        try:
            connection = Connection.open(remote, ssl_files)
        except OvsdbError as exc:
            problems.append(str(exc))
            continue
        leader = connection.is_cluster_leader(database)
        if leader is None or leader:
            if follower is not None:
                follower.close()
            return connection
        if follower is None:
            follower = connection  # writes are forwarded by RAFT; keep as a fallback
        else:
            connection.close()
    if follower is not None:
        return follower
    raise OvsdbError("cannot connect to any remote: " + "; ".join(problems or ["no remote given"]))
