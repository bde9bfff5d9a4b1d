"""The two tiny programs the datapath sandbox runs inside its network namespaces.

    python3 netns_agent.py serve NAME [--tcp PORT]... [--udp PORT]... [--peers FILE] [--answer-every-datagram]
    python3 netns_agent.py connect ADDRESS PORT --protocol tcp|udp --count N [--timeout S]
    python3 netns_agent.py ping ADDRESS --count N [--timeout S]

``serve`` is a backend: every TCP connection gets NAME and a newline, then is
closed; a UDP datagram that carries the sandbox's question gets NAME back.
Any other datagram (OVN's health-check probes) gets no answer: for UDP,
silence is what OVN counts as a live backend, and a port nobody listens on
answers ICMP port-unreachable, which OVN counts as dead. With
``--answer-every-datagram`` the probes get NAME too, as a service that
answers whatever it is sent would (``tests/test_status.py``: still online).

``connect`` is a client: N connections (or datagrams) one after another,
each with its own source port, and one JSON object on stdout: the answers
per name, plus "refused" (an RST, or ICMP unreachable) and "timeout".

Run by file path with the standard library only, so a namespace's process
starts fast and imports nothing of ovn-lbc; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

QUESTION = b"ovn-lbc-sandbox: who are you?"
MAX_ANSWER = 256


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def serve(
    name: str, tcp_ports: list[int], udp_ports: list[int], peers: str | None = None, answer_all: bool = False
) -> None:
    answer = name.encode("utf-8") + b"\n"
    # Who connected, one address a line (a file, not stdout: nobody reads a pipe that long).
    log = open(peers, "a", encoding="utf-8", buffering=1) if peers else None
    selector = selectors.DefaultSelector()
    for port in tcp_ports:
        # One dual-stack socket per port: the namespace may hold IPv4 and IPv6 addresses.
        listener = socket.create_server(("::", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=128)
        selector.register(listener, selectors.EVENT_READ, "tcp")
    for port in udp_ports:
        datagrams = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        datagrams.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        datagrams.bind(("::", port))
        selector.register(datagrams, selectors.EVENT_READ, "udp")
    print("ready", flush=True)  # the sandbox waits for this line before it sends traffic
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if key.data == "tcp":
                try:
                    connection, peer = sock.accept()
                except OSError:
                    continue
                if log is not None:
                    log.write(f"{peer[0].removeprefix('::ffff:')}\n")
                with connection:
                    try:
                        connection.sendall(answer)
                    except OSError:
                        pass
            else:
                try:
                    data, peer = sock.recvfrom(2048)
                except OSError:
                    continue
                if data == QUESTION or answer_all:
                    try:
                        sock.sendto(answer, peer)
                    except OSError:
                        pass


def _tcp_answer(address: str, port: int, timeout: float) -> bytes:
    with socket.create_connection((address, port), timeout=timeout) as sock:
        data = b""
        while len(data) < MAX_ANSWER and not data.endswith(b"\n"):
            chunk = sock.recv(MAX_ANSWER)
            if not chunk:
                break
            data += chunk
    return data


def _udp_answer(address: str, port: int, timeout: float) -> bytes:
    with socket.socket(_family(address), socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((address, port))
        sock.send(QUESTION)
        return sock.recv(MAX_ANSWER)


def _ask(dial: Callable[[str, int, float], bytes], address: str, port: int, timeout: float) -> str:
    """One connection's outcome: the name that answered, or what happened instead."""
    try:
        data = dial(address, port, timeout)
    except ConnectionRefusedError:
        return "refused"  # an RST, or ICMP port-unreachable
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return f"error: {exc.strerror or exc}"
    return data.decode("utf-8", "replace").strip() or "closed"


def connect(address: str, port: int, protocol: str, count: int, timeout: float, parallel: int) -> dict[str, int]:
    """``count`` connections, a few at a time: a VIP nobody answers then costs
    a few timeouts, not ``count`` of them one after another."""
    dial = _tcp_answer if protocol == "tcp" else _udp_answer
    answers: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for answer in pool.map(lambda _: _ask(dial, address, port, timeout), range(count)):
            answers[answer] = answers.get(answer, 0) + 1
    return answers


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ping(address: str, count: int, timeout: float) -> int:
    """``count`` ICMP echo requests (IPv4, a raw socket: root in the namespace); the replies."""
    replies = 0
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(timeout)
        identifier = os.getpid() & 0xFFFF
        for sequence in range(count):
            header = struct.pack("!BBHHH", 8, 0, 0, identifier, sequence)
            payload = b"ovn-lbc"
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), identifier, sequence) + payload
            sock.sendto(packet, (address, 0))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    data = sock.recv(1024)
                except (TimeoutError, OSError):
                    break
                offset = (data[0] & 0x0F) * 4  # past the IP header
                kind, _, _, their_id, their_sequence = struct.unpack("!BBHHH", data[offset : offset + 8])
                if kind == 0 and their_id == identifier and their_sequence == sequence:
                    replies += 1
                    break
    return replies


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="netns_agent")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve")
    server.add_argument("name")
    server.add_argument("--tcp", type=int, action="append", default=[])
    server.add_argument("--udp", type=int, action="append", default=[])
    server.add_argument("--peers", help="append each TCP client's address to this file")
    server.add_argument("--answer-every-datagram", action="store_true", help="answer OVN's UDP probes too")
    client = commands.add_parser("connect")
    client.add_argument("address")
    client.add_argument("port", type=int)
    client.add_argument("--protocol", choices=("tcp", "udp"), default="tcp")
    client.add_argument("--count", type=int, default=20)
    client.add_argument("--timeout", type=float, default=2.0)
    client.add_argument("--parallel", type=int, default=5, help="connections at once")
    pinger = commands.add_parser("ping")
    pinger.add_argument("address")
    pinger.add_argument("--count", type=int, default=10)
    pinger.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.command == "serve":
            serve(args.name, args.tcp, args.udp, args.peers, args.answer_every_datagram)
        elif args.command == "ping":
            print(json.dumps({"replies": ping(args.address, args.count, args.timeout)}))
        else:
            started = time.monotonic()
            answers = connect(args.address, args.port, args.protocol, args.count, args.timeout, args.parallel)
            print(json.dumps({"answers": answers, "seconds": round(time.monotonic() - started, 3)}))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
