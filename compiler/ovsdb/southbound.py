"""What the Southbound database says of the health checks: Service_Monitor rows.

ovn-northd makes one Service_Monitor per health-checked backend (its address,
port, protocol and logical port); ovn-controller probes it and writes the
``status``: online, offline or error, empty before the first result. Read in
one ``select``; the answer is the peer's word, so its shape is checked and a
malformed one is an OvsdbError naming the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .client import DEFAULT_SB_REMOTE as DEFAULT_SB_REMOTE  # one default, shared with status and doctor
from .client import Connection, OvsdbError

SOUTHBOUND = "OVN_Southbound"
SB_REMOTE_VARIABLE = "OVN_SB_DB"
_COLUMNS = ("ip", "port", "protocol", "logical_port", "status")


@dataclass(frozen=True, slots=True)
class ServiceMonitor:
    ip: str  # as northd writes it: IPv6 without brackets
    port: int
    protocol: str  # an empty column is tcp, as OVN reads it
    logical_port: str
    status: str  # "" before the first probe's result

    @property
    def key(self) -> tuple[str, int, str, str]:
        return self.ip, self.port, self.protocol, self.logical_port


def _brief(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _optional_string(value: Any, column: str) -> str:
    """An optional string column: the string, or "" for OVSDB's empty set."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 2 and value[0] == "set" and value[1] == []:
        return ""
    raise ValueError(f"a Service_Monitor {column} is {_brief(value)}, not a string")


def _monitor(row: Any) -> ServiceMonitor:
    if not isinstance(row, dict):
        raise ValueError(f"a Service_Monitor row is {_brief(row)}, not an object")
    ip, port, logical_port = row.get("ip"), row.get("port"), row.get("logical_port")
    if not isinstance(ip, str) or not isinstance(logical_port, str):
        raise ValueError(f"a Service_Monitor ip or logical_port is not a string: {_brief(row)}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"a Service_Monitor port is {_brief(port)}, not a port number")
    protocol = _optional_string(row.get("protocol"), "protocol") or "tcp"
    return ServiceMonitor(ip, port, protocol, logical_port, _optional_string(row.get("status"), "status"))


def read_service_monitors(connection: Connection) -> tuple[ServiceMonitor, ...]:
    """Every Service_Monitor row, sorted by (ip, port, protocol, logical port)."""
    select = {"op": "select", "table": "Service_Monitor", "where": [], "columns": list(_COLUMNS)}
    result = connection.call("transact", [SOUTHBOUND, select])
    try:
        answer = result[0] if isinstance(result, list) and len(result) == 1 else None
        if isinstance(answer, dict) and answer.get("error"):
            raise ValueError(f"the server refused the select: {_brief(answer)}")
        rows = answer.get("rows") if isinstance(answer, dict) else None
        if not isinstance(rows, list):
            raise ValueError(f"the answer is {_brief(result)}, not the rows of one select")
        return tuple(sorted((_monitor(row) for row in rows), key=lambda monitor: monitor.key))
    except ValueError as exc:
        raise OvsdbError(f"{connection.remote}: cannot read the Southbound Service_Monitor table: {exc}") from None


def monitor_statuses(monitors: tuple[ServiceMonitor, ...]) -> dict[tuple[str, int, str, str], str]:
    """(ip, port, protocol, logical port) -> status."""
    return {monitor.key: monitor.status for monitor in monitors}
