"""A small OVSDB JSON-RPC client (RFC 7047) on standard-library sockets.

Remotes are written as ovn-nbctl writes them: ``unix:PATH``,
``tcp:HOST:PORT``, ``ssl:HOST:PORT`` (IPv6 hosts in brackets). A comma list
is a clustered database: every member is tried, the RAFT leader preferred
(the ``_Server`` database says which one leads), and a member that is down,
silent or not speaking JSON-RPC is skipped.

The peer is not trusted to behave. Everything it can make us wait for or
hold is bounded (``Limits``): each connect, with its TLS handshake and the
first answer, by ``CONNECT_TIMEOUT``; each request, from sending it to the
last byte of its reply, by ``REQUEST_TIMEOUT``; or, when the caller gives
one, everything by a deadline for the whole command (``--timeout``); and
one message by ``MAX_REPLY`` bytes. Echo requests are answered and
notifications skipped, inside the same bounds, so neither can stall a call.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from ..gcpause import paused_gc

DEFAULT_REMOTE = "unix:/var/run/ovn/ovnnb_db.sock"
DEFAULT_SB_REMOTE = "unix:/var/run/ovn/ovnsb_db.sock"  # as ovn-sbctl's, for status and doctor

CONNECT_TIMEOUT = 10.0  # seconds per remote: connect, TLS handshake, first answer
REQUEST_TIMEOUT = 60.0  # seconds per request, from sending it to the whole reply
# A read of 50,000 load balancers is about 80 MB of JSON: 1 GiB leaves room
# for databases far larger, and still stops a peer that never stops sending.
MAX_REPLY = 1 << 30
MAX_REPLY_VARIABLE = "OVN_LBC_MAX_REPLY"
# OVSDB's replies nest about 10 deep; anything far deeper is not OVSDB.
MAX_DEPTH = 128
_CHUNK = 1 << 20


class OvsdbError(Exception):
    """The server could not be reached, or answered with an error."""


class BadRemote(OvsdbError):
    """A remote that is not ``unix:PATH``, ``tcp:HOST:PORT`` or ``ssl:HOST:PORT``."""


class ServerError(OvsdbError):
    """The server answered a request with a JSON-RPC error."""


class PeerError(OvsdbError):
    """The peer could not be reached, fell silent, hung up, or sent what is
    not JSON-RPC. ``sent`` says whether the request had gone out whole: then
    the server may have acted on it."""

    def __init__(self, reason: str, remote: str | None = None, *, sent: bool = False) -> None:
        super().__init__(f"{remote}: {reason}" if remote else reason)
        self.reason = reason
        self.remote = remote
        self.sent = sent


@dataclass(frozen=True, slots=True)
class SslFiles:
    private_key: str | None = None
    certificate: str | None = None
    ca_cert: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a peer may take and how much it may send.

    ``total`` (``--timeout``) bounds the whole command: each request may then
    take what is left of it, and each connect at most ``connect`` or its
    share of what is left (so a silent first member of a cluster leaves
    time for the others)."""

    connect: float = CONNECT_TIMEOUT
    request: float = REQUEST_TIMEOUT
    total: float | None = None
    max_reply: int = MAX_REPLY


def left_of(limits: Limits, started: float) -> Limits:
    """``limits`` with what is left of its total (``--timeout``) since
    ``started`` (a time.monotonic()): a command's second database gets what
    its first one left. OvsdbError when nothing is left."""
    if limits.total is None:
        return limits
    left = limits.total - (time.monotonic() - started)
    if left <= 0:
        raise OvsdbError("the command's --timeout ran out before the Southbound database was read")
    return replace(limits, total=left)


@dataclass(frozen=True, slots=True)
class Remote:
    text: str
    kind: str  # unix | tcp | ssl
    path: str = ""
    host: str = ""
    port: int = 0


def parse_remote(text: str) -> Remote:
    """``unix:PATH``, ``tcp:HOST:PORT`` or ``ssl:HOST:PORT``; BadRemote otherwise."""
    shown = repr(text if len(text) <= 100 else text[:100] + "...")
    kind, _, address = text.partition(":")
    if kind == "unix":
        if not address or "\0" in address:
            raise BadRemote(f"remote {shown}: expected unix:PATH")
        return Remote(text, kind, path=address)
    if kind not in ("tcp", "ssl"):
        raise BadRemote(f"remote {shown}: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT")
    host, _, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    # ASCII digits only (str.isdigit takes other scripts' digits) and a bounded
    # length, so no int() of thousands of digits; a port above 65535 would wrap.
    if not host or "\0" in host or not (port.isascii() and port.isdigit() and len(port) <= 5):
        raise BadRemote(f"remote {shown}: expected {kind}:HOST:PORT")
    if not 0 < int(port) <= 65535:
        raise BadRemote(f"remote {shown}: port {int(port)} is not between 1 and 65535")
    return Remote(text, kind, host=host, port=int(port))


def parse_remotes(text: str) -> list[Remote]:
    """A remote or a comma list of them (a cluster's members)."""
    remotes = [parse_remote(part.strip()) for part in text.split(",") if part.strip()]
    if not remotes:
        raise BadRemote("no remote given")
    return remotes


def _brief(value: Any, limit: int = 200) -> str:
    """A peer's value in an error message: one line, escaped, bounded."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    text = repr(text)[1:-1] if isinstance(value, str) else text
    return text if len(text) <= limit else text[:limit] + "..."


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.2g} s"


# -- reading messages off the stream ---------------------------------------------

# The bytes that delimit JSON values; everything else is deleted before
# counting, in C (bytes.translate), which keeps scanning a reply far
# cheaper than parsing it.
_DELIMITERS = b'"{}[],'
_NOT_DELIMITERS = bytes(b for b in range(256) if b not in _DELIMITERS)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _whole_utf8(data: bytearray) -> int:
    """The length of ``data`` without a UTF-8 character cut off at its end."""
    end = len(data)
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte < 0x80:
            return end
        if byte >= 0xC0:  # a lead byte: is its sequence whole?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if back >= need else end - back
    return end


class _Framer:
    """Cuts a byte stream into JSON values, each byte scanned a bounded number
    of times, however the peer splits or pads its messages.

    Per chunk it tracks, without parsing, whether it is inside a string and
    how deep in brackets it is, so it parses only once a value can be
    complete: when the depth is back to 0, or when ``}{`` shows that one
    message ended and another began. Parsing a prefix each time it happened
    to end in "}" was quadratic: a peer could send a reply that kept ending
    so, and a 10 MB one was re-parsed some 70 times."""

    def __init__(self, max_message: int) -> None:
        self.max_message = max_message
        self.buffer = bytearray()
        self.messages: collections.deque[Any] = collections.deque()
        self._depth = 0
        self._inside = False  # inside a string at the end of the buffer
        self._escaped = False  # and its next byte is escaped
        self._decoder = json.JSONDecoder()

    def feed(self, chunk: bytes) -> None:
        """Add bytes; parse the values they complete into ``messages``. ValueError if not JSON."""
        self.buffer += chunk
        if self._scan(chunk):
            self._parse()
        if len(self.buffer) > self.max_message:
            raise OverflowError(len(self.buffer))

    def _scan(self, chunk: bytes) -> bool:
        data = chunk
        if self._escaped or b"\\" in data:
            # Inside strings every escape is two bytes; after dropping them, a
            # quote is a string's edge. A run of backslashes pairs from its left,
            # as bytes.replace does; one left over at the end escapes the next chunk.
            if self._escaped:
                data, self._escaped = data[1:], False
            data = data.replace(b"\\\\", b"")
            if data.endswith(b"\\"):
                data, self._escaped = data[:-1], True
            data = data.replace(b'\\"', b"")
        delimiters = data.translate(None, _NOT_DELIMITERS)
        if self._inside:
            delimiters = b'"' + delimiters
        # An adjacent pair of quotes is an empty string, or two strings with
        # nothing between them: dropping it keeps what is outside strings.
        # What is left inside strings is rare (a bracket in a name, say).
        outside = delimiters.replace(b'""', b"")
        if b'"' in outside:
            parts = outside.split(b'"')
            self._inside = len(parts) % 2 == 0
            outside = b"".join(parts[0::2])
        else:
            self._inside = False
        self._depth += outside.count(b"{") + outside.count(b"[") - outside.count(b"}") - outside.count(b"]")
        if self._depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} deep")
        # In one JSON value "}" is never followed by "{" (a comma comes
        # between), so "}{" outside strings is where a message ended.
        return (self._depth <= 0 and not self._inside) or b"}{" in outside

    def _parse(self) -> None:
        complete = self._depth == 0 and not self._inside
        end = len(self.buffer) if complete else _whole_utf8(self.buffer)
        try:
            text = (self.buffer if end == len(self.buffer) else self.buffer[:end]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"invalid UTF-8 at byte {exc.start}") from None
        if complete:
            # Every value in it is whole: the bytes are not needed while the
            # text is parsed (a 50,000-load-balancer read is 90 MB of them).
            self.buffer = bytearray()
        position = 0
        first = True
        # JSON values form no cycles; collecting during a big parse tripled its time.
        with paused_gc():
            while True:
                position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
                if position == len(text):
                    break
                try:
                    message, position_after = self._decoder.raw_decode(text, position)
                except (ValueError, RecursionError) as exc:
                    # The first value must be whole (the scan said a message
                    # ended); a later one may still be arriving.
                    if first or complete:
                        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                        raise ValueError(reason) from None
                    break
                first = False
                self.messages.append(message)
                position = position_after
        if not complete:
            consumed = position if text.isascii() else end - len(text[position:].encode("utf-8"))
            del self.buffer[:consumed]
        if not self.buffer:
            self._depth, self._inside, self._escaped = 0, False, False


# -- the connection ----------------------------------------------------------------


# One encoder for every message: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Parameters per piece of a long request: about 50 KB of JSON at 10,000 load balancers.
_PIECE = 200


def _encoded(message: dict[str, Any]) -> Iterator[bytes]:
    """``message`` as JSON, in pieces whose concatenation is the one-shot encoding.

    A transaction of 10,000 load balancers is 10 MB: encoded whole, ovsdb-server
    waits idle while Python encodes it (half a second), then parses it while
    Python waits. Sent a few hundred operations at a time, the server parses
    each piece (its JSON parser takes a stream) while the next is encoded, on
    the other core. A short message goes in one piece, as before. Params that
    are an iterator are made piece by piece as they are sent, so the request
    is never whole in memory; ovsdb-server acts on no request it has not
    received whole, so one cut short by an error changes nothing.
    """
    params = message.get("params")
    long = isinstance(params, Iterator) or (isinstance(params, list) and len(params) > _PIECE)
    if list(message) != ["method", "params", "id"] or not long:
        yield _ENCODER.encode(message).encode("utf-8")
        return
    assert isinstance(params, (list, Iterator))
    yield f'{{"method":{_ENCODER.encode(message["method"])},"params":['.encode()
    items = iter(params)  # a list and an iterator alike: _PIECE items at a time
    for number, piece in enumerate(iter(lambda: list(itertools.islice(items, _PIECE)), [])):
        text = _ENCODER.encode(piece)[1:-1]  # the items, without the list's brackets
        yield (text if number == 0 else "," + text).encode("utf-8")
    yield f'],"id":{_ENCODER.encode(message["id"])}}}'.encode()


class Connection:
    """One JSON-RPC session. Echo requests from the server are answered."""

    def __init__(
        self, sock: socket.socket, remote: str, limits: Limits | None = None, deadline: float | None = None
    ) -> None:
        self.sock = sock
        self.remote = remote
        self.limits = limits or Limits()
        # When the whole command must be done (a time.monotonic() value), or None.
        self.deadline = deadline
        self._ids = itertools.count(1)
        self._framer = _Framer(self.limits.max_reply)
        # Whether the last request went out whole (so the server may act on it).
        self.request_sent = False

    @classmethod
    def open(
        cls,
        remote: str | Remote,
        ssl_files: SslFiles | None = None,
        timeout: float = CONNECT_TIMEOUT,
        *,
        limits: Limits | None = None,
        deadline: float | None = None,
    ) -> Connection:
        """Connect (and shake hands) within ``timeout`` seconds."""
        where = parse_remote(remote) if isinstance(remote, str) else remote
        sock: socket.socket | None = None
        try:
            if where.kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(where.path)
            else:
                sock = socket.create_connection((where.host, where.port), timeout=timeout)
                if where.kind == "ssl":
                    files = ssl_files or SslFiles()
                    if not (files.private_key and files.certificate and files.ca_cert):
                        raise PeerError("ssl needs --private-key, --certificate and --ca-cert", where.text)
                    import ssl  # only for ssl: remotes (a tenth of `check`'s start otherwise)

                    context = ssl.create_default_context(cafile=files.ca_cert)
                    # OVN's PKI certificates name no host; the CA is what is checked.
                    context.check_hostname = False
                    context.load_cert_chain(files.certificate, files.private_key)
                    sock = context.wrap_socket(sock)  # the handshake, bounded by the timeout
        except BaseException as exc:
            if sock is not None:
                sock.close()
            if isinstance(exc, TimeoutError):
                raise PeerError(f"no connection within {_seconds(timeout)}", where.text) from None
            if isinstance(exc, OSError):
                raise PeerError(exc.strerror or str(exc), where.text) from None
            raise
        return cls(sock, where.text, limits, deadline)

    def close(self) -> None:
        self.sock.close()

    def abort(self) -> None:
        """Close from another thread: a recv or sendall blocked on the socket
        returns at once (close alone does not wake it on Linux)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected, or already closed
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _end_of(self, method: str, timeout: float | None) -> tuple[float, str]:
        """When a request must be answered by (its own bound, never past the
        command's deadline), and how to name that bound in an error."""
        now = time.monotonic()
        own = timeout if timeout is not None else None if self.deadline is not None else self.limits.request
        end, label = (now + own, f"within {_seconds(own)}") if own is not None else (float("inf"), "")
        if self.deadline is not None and self.deadline <= end:
            end, label = self.deadline, "before the command's --timeout ran out"
        if end <= now:
            raise PeerError(f"the command's --timeout ran out before {method}", self.remote)
        return end, label

    def _send(self, message: dict[str, Any], end: float, method: str, *, sent: bool, what: str = "the request") -> None:
        try:
            for data in _encoded(message):
                # Since Python 3.5 a socket timeout bounds the whole of one sendall.
                self.sock.settimeout(max(end - time.monotonic(), 0.001))
                self.sock.sendall(data)
        except TimeoutError:
            raise PeerError(f"{method}: the server stopped reading {what}", self.remote, sent=sent) from None
        except OSError as exc:
            raise PeerError(f"{method}: {exc.strerror or exc}", self.remote, sent=sent) from None

    def _receive(self, method: str, end: float, label: str) -> Any:
        framer = self._framer
        while not framer.messages:
            left = end - time.monotonic()
            if left <= 0:
                self._timed_out(method, label)
            try:
                self.sock.settimeout(left)
                chunk = self.sock.recv(_CHUNK)
            except TimeoutError:
                self._timed_out(method, label)
            except OSError as exc:
                raise PeerError(f"{method}: {exc.strerror or exc}", self.remote, sent=True) from None
            if not chunk:
                raise PeerError(f"the server closed the connection during {method}", self.remote, sent=True)
            try:
                framer.feed(chunk)
            except OverflowError:
                raise PeerError(
                    f"{method}: the server sent a message of more than {framer.max_message:,} bytes "
                    f"(--max-reply or {MAX_REPLY_VARIABLE} raises the limit)",
                    self.remote,
                    sent=True,
                ) from None
            except ValueError as exc:
                raise PeerError(
                    f"{method}: the server sent what is not JSON-RPC ({_brief(str(exc))})", self.remote, sent=True
                ) from None
        return framer.messages.popleft()

    def _timed_out(self, method: str, label: str) -> NoReturn:
        partial = len(self._framer.buffer)
        what = f"an incomplete answer ({partial:,} bytes)" if partial else "no answer"
        raise PeerError(f"{what} to {method} {label}", self.remote, sent=True)

    def call(self, method: str, params: list[Any] | Iterator[Any], *, timeout: float | None = None) -> Any:
        """Send one request and return its result; raise on a JSON-RPC error.
        ``params`` may be an iterator, consumed as the request is sent.

        PeerError when the peer does not answer in time (``timeout``, else
        the request bound, never past the command's deadline) or sends
        something that is not JSON-RPC; ServerError when it answers with an
        error."""
        end, label = self._end_of(method, timeout)
        request_id = next(self._ids)
        self.request_sent = False
        self._send({"method": method, "params": params, "id": request_id}, end, method, sent=False)
        self.request_sent = True
        while True:
            message = self._receive(method, end, label)
            if not isinstance(message, dict):
                raise PeerError(f"{method}: the server sent {_brief(message)}, not a JSON-RPC message", self.remote)
            if message.get("method") == "echo" and "id" in message:
                reply = {"result": message.get("params", []), "error": None, "id": message["id"]}
                self._send(reply, end, method, sent=True, what="the answer to its echo")
                continue
            if "method" in message or message.get("id") != request_id:
                continue  # a notification (update, locked, ...) or another request: not ours
            if message.get("error") is not None:
                raise ServerError(f"{self.remote}: {method} failed: {_brief(message['error'])}")
            return message.get("result")

    # -- helpers -----------------------------------------------------------

    def is_cluster_leader(self, database: str, *, timeout: float | None = None) -> bool | None:
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
                timeout=timeout,
            )
        except ServerError:
            return None  # an old server without _Server: standalone
        first = result[0] if isinstance(result, list) and result else None
        rows = first.get("rows") if isinstance(first, dict) else None
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
        if row is None or row.get("model") != "clustered":
            return None
        return bool(row.get("leader")) and bool(row.get("connected"))


def max_reply_from_environment() -> int:
    """``OVN_LBC_MAX_REPLY`` (bytes, or with a K, M or G suffix), else MAX_REPLY; ValueError if malformed."""
    text = os.environ.get(MAX_REPLY_VARIABLE)
    return MAX_REPLY if text is None else parse_size(text)


def parse_size(text: str) -> int:
    """``1073741824``, ``512M``, ``1G``, ``64K``: a positive number of bytes; ValueError otherwise."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    body = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = body[-1:] if body[-1:] in ("K", "M", "G") else ""
    digits = body[: len(body) - len(unit)]
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 15) or int(digits) == 0:
        raise ValueError(f"{text!r} is not a size in bytes (such as 1073741824, 512M or 1G)")
    return int(digits) * units[unit]


def connect(remotes: str, database: str, ssl_files: SslFiles | None = None, limits: Limits | None = None) -> Connection:
    """Connect to a (possibly clustered) database, preferring the RAFT leader.

    A member that cannot be reached, does not answer a first request within
    ``limits.connect`` seconds (or its share of what is left of
    ``limits.total``), or does not speak JSON-RPC is skipped; the error when
    none will do says what each one did."""
    limits = limits or Limits()
    members = parse_remotes(remotes)
    deadline = None if limits.total is None else time.monotonic() + limits.total
    problems: list[str] = []
    follower: Connection | None = None
    try:
        for index, remote in enumerate(members):
            bound = limits.connect
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    problems.append(f"{remote.text}: not tried, the command's --timeout ran out")
                    continue
                bound = min(bound, left / (len(members) - index))
            member_end = time.monotonic() + bound
            try:
                connection = Connection.open(remote, ssl_files, bound, limits=limits, deadline=deadline)
            except PeerError as exc:
                problems.append(str(exc))
                continue
            try:
                leader = connection.is_cluster_leader(database, timeout=max(member_end - time.monotonic(), 0.001))
            except PeerError as exc:
                # Silent, hung up or babbling: skip it like a member that is down.
                connection.close()
                problems.append(f"{remote.text}: connected, but {exc.reason}")
                continue
            except BaseException:
                connection.close()
                raise
            if leader is None or leader:
                if follower is not None:
                    follower.close()
                    follower = None
                return connection
            if follower is None:
                follower = connection  # writes are forwarded by RAFT; keep as a fallback
            else:
                connection.close()
    except BaseException:
        if follower is not None:
            follower.close()
        raise
    if follower is not None:
        return follower
    raise PeerError("cannot connect to any remote: " + "; ".join(problems))
