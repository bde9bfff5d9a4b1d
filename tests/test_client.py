"""The JSON-RPC client's reading, on a real socket pair (no server needed)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest

from compiler.ovsdb.client import Connection


def test_a_reply_split_inside_a_utf8_character_and_after_a_brace_is_read_whole() -> None:
    reply = {"id": 1, "error": None, "result": [{"rows": [{"name": "café}", "vips": ["map", [["a", "é" * 5000]]]}]}]}
    data = json.dumps(reply, ensure_ascii=False).encode("utf-8")
    split_after_brace = data.index(b'}"') + 1  # the data so far ends in "}" but is not a whole message
    split_in_character = data.index("é".encode(), split_after_brace) + 1
    ours, theirs = socket.socketpair()
    with ours, theirs:

        def serve() -> None:
            theirs.recv(65536)  # the request
            for piece in (
                data[:split_after_brace],
                data[split_after_brace:split_in_character],
                data[split_in_character:],
            ):
                theirs.sendall(piece)
                threading.Event().wait(0.05)  # separate chunks on the reading side

        server = threading.Thread(target=serve)
        server.start()
        result = Connection(ours, "socketpair").call("transact", [])
        server.join()
    assert result == reply["result"]


# -- the reader: messages however the peer cuts them, each byte scanned a bounded number of times ------


def _serve_chunks(theirs: socket.socket, pieces: list[bytes], replies: list[bytes]) -> threading.Thread:
    """A peer on the other end of a socket pair: read the request, send ``pieces`` one by one, keep what comes back."""

    def serve() -> None:
        theirs.settimeout(10)
        try:
            theirs.recv(65536)
            for piece in pieces:
                theirs.sendall(piece)
            theirs.settimeout(0.2)
            while data := theirs.recv(65536):
                replies.append(data)
        except OSError:
            pass  # the client hung up: its side of the test decides

    thread = threading.Thread(target=serve)
    thread.start()
    return thread


def _call(pieces: list[bytes], limits: Any = None) -> tuple[Any, list[bytes]]:
    replies: list[bytes] = []
    ours, theirs = socket.socketpair()
    with ours, theirs:
        server = _serve_chunks(theirs, pieces, replies)
        try:
            connection = Connection(ours, "socketpair") if limits is None else Connection(ours, "socketpair", limits)
            result = connection.call("transact", [])
        finally:
            ours.shutdown(socket.SHUT_RDWR)
            server.join(timeout=20)
        assert not server.is_alive()
    return result, replies


def test_echo_is_answered_and_notifications_skipped_in_one_chunk() -> None:
    # The echo, a notification and the reply in one chunk: "}{" between them, whitespace or none.
    data = (
        b'{"method":"echo","params":["x"],"id":"echo"}'
        b'  {"method":"update","params":[null,{}],"id":null}\n'
        b'{"id":7,"result":"not ours","error":null}{"id":1,"result":["ours"],"error":null}'
    )
    result, replies = _call([data])
    assert result == ["ours"]
    assert json.loads(b"".join(replies)) == {"result": ["x"], "error": None, "id": "echo"}


def test_a_reply_that_keeps_ending_in_a_brace_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each piece ends in "}" (rows of a list that goes on): parsing whenever the data
    ended so was quadratic. Now the reply is parsed once, when it is whole."""
    calls: list[int] = []
    real = json.JSONDecoder.raw_decode

    def counting(self: json.JSONDecoder, text: str, *args: Any) -> Any:
        calls.append(len(text))
        return real(self, text, *args)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counting)
    pieces = [b'{"id":1,"error":null,"result":[{"a":"}"}']
    pieces += [b',{"row":%d,"name":"x}{"}' % number for number in range(2000)]
    pieces.append(b"]}")
    result, _ = _call(pieces)
    assert len(result) == 2001
    assert len(calls) <= 2, f"{len(calls)} parses"


class _ScriptedSocket:
    """Stands in for the socket where the test needs exact chunk boundaries: each recv returns the next piece."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = iter(pieces)

    def settimeout(self, timeout: float | None) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        pass

    def recv(self, size: int) -> bytes:
        return next(self.pieces, b"")

    def close(self) -> None:
        pass


def test_reading_is_linear_in_the_reply() -> None:
    """Twice the rows, in twice the pieces (each ending in "}"), take about twice the time, not four times."""
    import time

    def seconds(rows: int) -> float:
        row = b',{"name":"lb-%d","vips":["map",[["10.0.0.1:80","10.0.0.2:80,10.0.0.3:80"]]]}'
        pieces = [b'{"id":1,"error":null,"result":[{}'] + [row % n for n in range(rows)] + [b"]}"]
        started = time.perf_counter()
        result = Connection(_ScriptedSocket(pieces), "scripted").call("transact", [])  # type: ignore[arg-type]
        assert len(result) == rows + 1
        return time.perf_counter() - started

    seconds(500)  # warm up
    small = min(seconds(2000) for _ in range(3))
    large = min(seconds(4000) for _ in range(3))
    assert large < 3 * small, (small, large)


@pytest.mark.parametrize(
    ("pieces", "reason"),
    [
        ([b'{"id":1,"result":"\\u00e9', b'\xff"}'], "invalid UTF-8"),
        ([b'{"id":1,"result":' + b"[" * 200], "nested more than 128 deep"),
        ([b"\x00\x01\x02 not json"], "not JSON-RPC"),
        ([b'{"id":1} {"id":1,,}'], "not JSON-RPC"),
    ],
    ids=["utf8", "deep", "binary", "second-broken"],
)
def test_what_is_not_json_rpc_is_refused(pieces: list[bytes], reason: str) -> None:
    from compiler.ovsdb.client import PeerError

    with pytest.raises(PeerError, match=reason):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            server = _serve_chunks(theirs, pieces, [])
            try:
                Connection(ours, "socketpair").call("transact", [])
            finally:
                ours.shutdown(socket.SHUT_RDWR)
                server.join(timeout=20)


def test_the_size_limit_holds_for_one_message() -> None:
    from compiler.ovsdb.client import Limits, PeerError

    big = [b'{"id":1,"result":"'] + [b"x" * 65536] * 40 + [b'"}']
    with pytest.raises(PeerError, match="more than 1,048,576 bytes"):
        _call(big, Limits(max_reply=1 << 20))
    result, _ = _call(big, Limits(max_reply=4 << 20))
    assert len(result) == 40 * 65536


@pytest.mark.parametrize(
    ("remote", "problem"),
    [
        ("tcp:127.0.0.1:70000", "port 70000 is not between 1 and 65535"),
        ("tcp:127.0.0.1:0", "port 0 is not between 1 and 65535"),
        ("tcp:127.0.0.1:" + "9" * 5000, "expected tcp:HOST:PORT"),
        ("tcp:127.0.0.1:٣", "expected tcp:HOST:PORT"),
        ("ssl::6641", "expected ssl:HOST:PORT"),
        ("unix:", "expected unix:PATH"),
        ("udp:127.0.0.1:6641", "expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT"),
        (" , ", "no remote given"),
    ],
)
def test_remotes_are_checked_before_connecting(remote: str, problem: str) -> None:
    from compiler.ovsdb.client import BadRemote, parse_remotes

    with pytest.raises(BadRemote, match=problem):
        parse_remotes(remote)


def test_remotes_that_parse() -> None:
    from compiler.ovsdb.client import Remote, parse_remotes

    assert parse_remotes("unix:/run/nb.sock,tcp:[fd00::1]:6641, ssl:nb.example:6641") == [
        Remote("unix:/run/nb.sock", "unix", path="/run/nb.sock"),
        Remote("tcp:[fd00::1]:6641", "tcp", host="fd00::1", port=6641),
        Remote("ssl:nb.example:6641", "ssl", host="nb.example", port=6641),
    ]


def test_the_reader_frames_any_messages_cut_anywhere_and_refuses_garbage_cleanly() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from compiler.ovsdb.client import _Framer

    text = st.text(alphabet=st.sampled_from('ab"\\\\{}[],: é\n\u2028'), max_size=8)
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | text,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=12,
    )
    messages = st.lists(st.dictionaries(text, values, min_size=1, max_size=3), min_size=1, max_size=4)

    @settings(max_examples=300, deadline=None)
    @given(messages, st.lists(st.integers(min_value=0), max_size=6), st.sampled_from(["", " ", "\n", "\r\n\t"]))
    def frames(sent: list[dict[str, Any]], cuts: list[int], gap: str) -> None:
        data = gap.join(json.dumps(m, ensure_ascii=False) for m in sent).encode()
        points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
        framer = _Framer(1 << 20)
        for start, end in zip(points, points[1:], strict=False):
            if end > start:
                framer.feed(data[start:end])
        assert list(framer.messages) == sent and not framer.buffer.strip()

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.binary(max_size=40), max_size=6))
    def refuses(chunks: list[bytes]) -> None:
        framer = _Framer(1 << 10)
        try:
            for chunk in chunks:
                if chunk:
                    framer.feed(chunk)
        except (ValueError, OverflowError):
            pass

    frames()
    refuses()


@pytest.mark.parametrize("count", [0, 1, 199, 200, 201, 400, 1001])
def test_a_long_request_goes_in_pieces_that_make_the_one_shot_encoding(count: int) -> None:
    from compiler.ovsdb.client import _encoded

    params: list[Any] = ["OVN_Northbound", *({"op": "insert", "row": {"name": f"é{i}\u2028"}} for i in range(count))]
    message = {"method": "transact", "params": params, "id": 7}
    pieces = list(_encoded(message))
    assert b"".join(pieces) == json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(pieces) == (1 if len(params) <= 200 else 2 + -(-len(params) // 200))
    # Params made as they are sent (apply's PlannedTransaction): the same bytes, never a list of them.
    streamed = list(_encoded({"method": "transact", "params": iter(params), "id": 7}))
    assert b"".join(streamed) == b"".join(pieces)
    assert len(streamed) == 2 + -(-len(params) // 200)
