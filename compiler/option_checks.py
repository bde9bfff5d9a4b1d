"""Checks of the Load_Balancer options: what contradicts itself or cannot
take effect where it is written (a forward has one target per port, a VIP
has one address family). Part of the checks stage, run by checks.CHECKS.
"""

from __future__ import annotations

from collections.abc import Iterator

from .diagnostics import Diagnostic, error, note, warning
from .ir import Document, Forward, LoadBalancer, LoadBalancerPort, Network, pool_targets

_NO_CHOICE = "a forward sends each port to exactly one target, so there is no backend to choose"
_NEVER_EMPTY = "a forward always has its target, so 'no backend available' never happens"
_FORWARD_REFUSES = {
    "affinity_timeout": _NO_CHOICE,
    "selection_fields": _NO_CHOICE,
    "reject": _NEVER_EMPTY,
    "event": _NEVER_EMPTY,
}


def _hairpin_problems(obj: LoadBalancer | Forward) -> Iterator[Diagnostic]:
    """One address per family is what OVN takes; the one of the VIPs' family is used.

    Both families on every row is OVN's documented form and what ovn-kubernetes
    writes (``"169.254.169.5 fd69::5"``), so the other family's address is only
    a note. With no address of the VIPs' family, hairpin SNAT never happens.
    """
    family = obj.listen_address.version
    addresses = obj.options.hairpin_snat_ip
    if not addresses or any(address.version == family for address in addresses):
        for address in addresses:
            if address.version != family:
                yield note(
                    obj.at("config.hairpin_snat_ip"),
                    "N002",
                    f"hairpin_snat_ip {address} stays unused here: every VIP of {obj.listen_address} is IPv{family}",
                    "harmless: OVN takes one address of each family and uses the one of the VIP's",
                )
        return
    for address in addresses:
        yield error(
            obj.at("config.hairpin_snat_ip"),
            "E321",
            f"hairpin_snat_ip {address} is IPv{address.version}, and every VIP of "
            f"{obj.listen_address} is IPv{family}: it would never be used",
            f"give an IPv{family} address (one of each family is fine too)",
        )


def _backend_count(lb: LoadBalancer, port: LoadBalancerPort) -> int:
    """How many backends a port entry's VIPs get (names the checks refuse count as none).
    A pool's port entry counts as one: it either writes a VIP with backends or,
    as in LXD, no VIP at all (W006), so it never has a VIP reject can act on."""
    if port.target_pool is not None:
        return 1
    return sum(1 for name in dict.fromkeys(port.target_backends) if lb.backend(name) is not None)


def _has_checked_pool(network: Network, lb: LoadBalancer) -> bool:
    """True when a port entry's VIP is a health-checked pool's: reject then fires
    once every instance is offline."""
    pools = network.pools_by_name()
    ports_by_instance = network.ports_by_instance()
    return any(
        (pool := pools.get(port.target_pool)) is not None
        and pool.health_check is not None
        and bool(pool_targets(pool, ports_by_instance, lb.listen_address.version))
        for port in lb.ports
        if port.target_pool is not None
    )


def check_options(document: Document) -> Iterator[Diagnostic]:
    """Options that contradict each other or cannot take effect where they are."""
    for network in document.networks:
        for kind, obj in network.listeners():
            options = obj.options
            if options.is_default():
                continue
            if options.reject and options.event:
                yield error(
                    obj.at("config.event"),
                    "E320",
                    "reject and event exclude each other: with reject, OVN answers the client instead of "
                    "raising the empty_lb event",
                    "keep one of them (ovn-nbctl lb-add refuses --reject with --event too)",
                )
            yield from _hairpin_problems(obj)
            if kind == "forward":
                for key in options.set_keys():
                    if key in _FORWARD_REFUSES:
                        yield error(
                            obj.at(f"config.{key}"), "E321", f"{key} cannot apply to a forward: {_FORWARD_REFUSES[key]}"
                        )
                continue
            for field_name in options.selection_fields:
                if field_name.startswith("ipv6_") and obj.listen_address.version == 4:
                    yield error(
                        obj.at("config.selection_fields"),
                        "E321",
                        f"selection field {field_name} only hashes IPv6 traffic, and this load balancer "
                        f"listens on IPv4 ({obj.listen_address})",
                        "use ip_src/ip_dst, which hash either family",
                    )
            if options.reject and isinstance(obj, LoadBalancer) and obj.health_check is None and obj.ports:
                if all(_backend_count(obj, port) for port in obj.ports) and not _has_checked_pool(network, obj):
                    yield warning(
                        obj.at("config.reject"),
                        "W003",
                        "reject has no effect here: without health checks OVN rejects only for a VIP with no "
                        "backends at all, and every VIP of this load balancer has one",
                        "turn healthcheck on to reject when every backend is down",
                    )
