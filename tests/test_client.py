"""The JSON-RPC client's reading, on a real socket pair (no server needed)."""

from __future__ import annotations

import json
import socket
import threading

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
