"""Checks of LXD's load-balancer pools: what LXD itself refuses (a port entry
naming an unknown pool, with more than one listen port or another protocol;
an instance without a NIC on the network; an instance port in two pools),
what would make OVN probe one address from two sources, and a pool that
gives a VIP no backend. Part of the checks stage, run by checks.CHECKS; the
references are to canonical/lxd@a83edf2a.
"""

from __future__ import annotations

from collections.abc import Iterator

from netaddr import IPAddress

from .addresses import host
from .diagnostics import Diagnostic, Span, did_you_mean, error, warning
from .ir import (
    Backend,
    Document,
    LoadBalancer,
    LoadBalancerPool,
    LoadBalancerPort,
    Network,
    PoolInstance,
    SwitchPort,
    expand_ports,
    pool_targets,
)

PoolLike = tuple[LoadBalancerPool, PoolInstance]


def pool_ports(network: Network) -> Iterator[tuple[LoadBalancer, LoadBalancerPort, LoadBalancerPool]]:
    """(load balancer, port entry, its pool) of every port entry naming a pool the network has."""
    pools = network.pools_by_name()
    for lb in network.load_balancers:
        for port in lb.ports:
            pool = pools.get(port.target_pool) if port.target_pool is not None else None
            if pool is not None:
                yield lb, port, pool


def pool_target_addresses(network: Network) -> Iterator[tuple[IPAddress, IPAddress, Span, str]]:
    """(target, listen address, where, what) of every pool target, once each:
    the addresses of the instances' switch ports a VIP would send to."""
    ports_by_instance = network.ports_by_instance()
    seen: set[tuple[IPAddress, str]] = set()
    for lb, _port, pool in pool_ports(network):
        for target in pool_targets(pool, ports_by_instance, lb.listen_address.version):
            if (target.address, target.switch_port) in seen:
                continue
            seen.add((target.address, target.switch_port))
            switch_port = next(p for p in ports_by_instance[target.instance.name] if p.name == target.switch_port)
            span = switch_port.at(f"addresses[{switch_port.addresses.index(target.address)}]")
            yield target.address, lb.listen_address, span, f'pool "{pool.name}" instance "{target.instance.name}"'


def check_pools(document: Document) -> Iterator[Diagnostic]:
    """Pool names unique in a network, instances unique in a pool."""
    for network in document.networks:
        seen: dict[str, Span] = {}
        for pool in network.pools:
            if pool.name in seen:
                yield error(pool.at("name"), "E340", f'pool "{pool.name}" is already defined at {seen[pool.name]}')
            seen.setdefault(pool.name, pool.at("name"))
            instances: dict[str, Span] = {}
            for instance in pool.instances:
                if instance.name in instances:
                    yield error(
                        instance.at("name"),
                        "E344",
                        f'instance "{instance.name}" is already in pool "{pool.name}" at {instances[instance.name]}',
                    )
                instances.setdefault(instance.name, instance.at("name"))


def check_pool_ports(document: Document) -> Iterator[Diagnostic]:
    """A port entry naming a pool: a pool of the network, one listen port, the
    pool's protocol (LXD's own rules, lxd/network/driver_common.go
    loadBalancerValidate and driver_ovn.go checkLoadBalancerPoolInstances)."""
    for network in document.networks:
        pools = network.pools_by_name()
        for lb in network.load_balancers:
            for port in lb.ports:
                if port.target_pool is None:
                    continue
                pool = pools.get(port.target_pool)
                if pool is None:
                    yield error(
                        port.at("target_pool"),
                        "E310",
                        f'no pool named "{port.target_pool}" in network {network.name}'
                        f"{did_you_mean(port.target_pool, list(pools))}",
                    )
                if len(expand_ports(port.listen_ports)) != 1:
                    yield error(
                        port.at("listen_port"),
                        "E342",
                        f'a port entry with target_pool takes one listen port, not "{_ports_text(port)}"',
                        "LXD refuses it too (Port ranges cannot be used with pool); write one entry per port",
                    )
                if pool is not None and pool.protocol != port.protocol:
                    yield error(
                        port.at("protocol"),
                        "E343",
                        f'pool "{pool.name}" is {pool.protocol} (at {pool.at("config.protocol")}) '
                        f"and this port entry is {port.protocol}",
                        "LXD refuses it too (Cannot use pool protocol ... with port protocol ...)",
                    )


def _ports_text(port: LoadBalancerPort) -> str:
    return ",".join(str(r) for r in port.listen_ports)


def check_pool_instances(document: Document) -> Iterator[Diagnostic]:
    """Every instance of a pool a port entry uses has a switch port on the
    network: LXD refuses the load balancer otherwise ("Instance %q does not
    have a device in network %q", lxd/network/driver_ovn.go 5586). The file
    names them: LXD writes no instance name into the Logical_Switch_Port rows
    (lxd/network/openvswitch/ovn.go LogicalSwitchPortAdd sets only
    lxd_switch and lxd_location), so a database cannot say which is whose."""
    for network in document.networks:
        ports_by_instance = network.ports_by_instance()
        reported: set[int] = set()
        for _lb, _port, pool in pool_ports(network):
            if id(pool) in reported:
                continue
            reported.add(id(pool))
            for instance in pool.instances:
                if instance.name not in ports_by_instance:
                    yield error(
                        instance.at("name"),
                        "E345",
                        f'instance "{instance.name}" of pool "{pool.name}" has no switch port in network '
                        f"{network.name}",
                        "name the instance on the switch port of its NIC (lxd-net<ID>-instance-<volatile.uuid>-"
                        f"<device>): instance: {instance.name} in YAML, instance {instance.name} at the end of its "
                        "switch-port line; LXD refuses an instance without a NIC on the network too",
                    )


def check_empty_pool_ports(document: Document) -> Iterator[Diagnostic]:
    """A pool that gives a VIP no backend: LXD writes no VIP for it, and neither does ovn-lbc."""
    for network in document.networks:
        ports_by_instance = network.ports_by_instance()
        for lb, port, pool in pool_ports(network):
            version = lb.listen_address.version
            if pool_targets(pool, ports_by_instance, version):
                continue
            why = "has no instances" if not pool.instances else f"has no instance with an IPv{version} address"
            yield warning(
                port.at("target_pool"),
                "W007",
                f'pool "{pool.name}" {why}: no VIP is written for {lb.listen_address} port '
                f"{_ports_text(port)}/{port.protocol}, as in LXD",
                "LXD leaves a pool without targets out of the load balancer; the port balances once "
                "the pool has an instance with a switch port",
            )


def check_instance_ports_in_one_pool(document: Document) -> Iterator[Diagnostic]:
    """LXD's rule: one instance's target port, protocol and address family in at
    most one pool that a load balancer uses, as OVN makes one health check per
    backend port and pools may check differently (lxd/network/driver_ovn.go 5530-5558)."""
    for network in document.networks:
        owners: dict[tuple[str, int, str, int], tuple[LoadBalancerPool, PoolInstance]] = {}
        reported: set[tuple[int, int]] = set()
        for lb, _port, pool in pool_ports(network):
            for instance in pool.instances:
                port = instance.target_port or pool.target_port
                key = (instance.name, port, pool.protocol, lb.listen_address.version)
                first = owners.setdefault(key, (pool, instance))
                if first[0].name == pool.name or (id(pool), id(instance)) in reported:
                    continue
                reported.add((id(pool), id(instance)))
                yield error(
                    instance.at("name"),
                    "E347",
                    f'instance "{instance.name}" with port {key[1]}/{pool.protocol} is already in pool '
                    f'"{first[0].name}" ({first[1].at("name")}), which a load balancer uses too',
                    "LXD refuses it too: OVN keeps one health-check monitor per backend port, and two pools "
                    "may check it differently",
                )


def _source_conflicts(
    network: Network, lb: LoadBalancer, by_address: dict[IPAddress, SwitchPort]
) -> Iterator[tuple[Backend, PoolLike, str, str]]:
    """(backend, (pool, instance), the backend's mapping, the pool's) of every
    address one row would map to two probe sources."""
    if lb.health_check is None:
        return
    ports_by_instance = network.ports_by_instance()
    pools = network.pools_by_name()
    backends = {b.target_address: b for b in reversed(lb.backends)}
    version = lb.listen_address.version
    router = network.pool_probe_source(version)
    for port in lb.ports:
        pool = pools.get(port.target_pool or "")
        # The load balancer's mappings are in each of its rows, so any pool port's VIP meets them.
        if pool is None or pool.health_check is None or router is None:
            continue
        for target in pool_targets(pool, ports_by_instance, version):
            backend = backends.get(target.address)
            source = network.health_check_source(target.address.version)
            switch_port = by_address.get(target.address)
            if backend is None or source is None or switch_port is None:
                continue
            own, theirs = f"{switch_port.name}:{host(source)}", f"{target.switch_port}:{host(router)}"
            if own != theirs:
                yield backend, (pool, target.instance), own, theirs


def check_pool_probe_sources(document: Document) -> Iterator[Diagnostic]:
    """A Load_Balancer row has one ip_port_mappings entry per backend address,
    so an address a load balancer's own health check probes (from its
    health-check source) and a health-checked pool probes (from the router,
    LXD's way) in the same row cannot have both."""
    for network in document.networks:
        by_address = {a: p for p in network.switch_ports for a in p.addresses}
        for lb in network.load_balancers:
            reported: set[IPAddress] = set()
            for backend, (pool, instance), own, theirs in _source_conflicts(network, lb, by_address):
                if backend.target_address in reported:
                    continue
                reported.add(backend.target_address)
                yield error(
                    backend.at("target_address"),
                    "E346",
                    f'backend "{backend.name}" ({backend.target_address}) is probed by the load balancer\'s '
                    f'health check as "{own}", and as instance "{instance.name}" of pool "{pool.name}" '
                    f'({instance.at("name")}) from the router\'s address, as "{theirs}": one Load_Balancer '
                    "row has one ip_port_mappings entry per address",
                    "take the backend out of the load balancer, or turn one of the two health checks off "
                    '(healthcheck: "false" in the pool)',
                )
