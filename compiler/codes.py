"""Every diagnostic code, with a one-line title. Codes never change meaning."""

from __future__ import annotations

CODES: dict[str, str] = {
    # The document's structure (syntax and schema).
    "E100": "syntax error",
    "E101": "duplicate key",
    "E102": "unknown key",
    "E103": "missing required key",
    "E104": "wrong type or shape",
    "E105": "unknown config key",
    # Values.
    "E200": "invalid IP address",
    "E201": "invalid network address",
    "E202": "invalid MAC address",
    "E203": "invalid port or port range",
    "E204": "invalid protocol",
    "E205": "invalid health-check value",
    "E206": "invalid boolean",
    "E207": "invalid name",
    "E208": "string that OVSDB cannot store",
    "E209": "invalid load-balancer option value",
    "E210": "invalid or conflicting target OVN release",
    # Meaning: the model as a whole.
    "E300": "network defined twice",
    "E301": "listen address used twice",
    "E302": "load balancer without ports (whole-IP load balancing)",
    "E303": "health check on an SCTP port",
    "E304": "address reserved for health checks",
    "E305": "target of the wrong address family",
    "E306": "target outside the network's subnet",
    "E307": "target is the subnet's network, broadcast or gateway address",
    "E308": "listen port used twice for one protocol",
    "E309": "target port count does not match listen ports",
    "E310": "unknown target backend",
    "E311": "duplicate backend name",
    "E312": "health-checked backend without a switch port",
    "E313": "IPv6 health check without router_mac or ipv6_address",
    "E314": "backend listed twice in one port entry",
    "E315": "OVN row name used twice",
    "E316": "address on two switch ports",
    "E317": "network without a usable subnet",
    "E318": "forward target equals its default target",
    "E319": "feature newer than the target OVN release",
    "E320": "options that exclude each other",
    "E321": "option that cannot take effect here",
    "E322": "OVN option ovn-lbc does not support",
    "E323": "datapath or group named twice",
    # The database: what planning against a Northbound database finds.
    "E400": "router or switch missing from the database, or there twice",
    "E401": "row name taken by a row ovn-lbc does not own",
    # Warnings: compile, but probably not what was meant.
    "W001": "forward with nothing to forward",
    "W002": "health-check setting without healthcheck enabled",
    "W003": "reject without health checks",
}
