"""The model as Incus-shaped YAML: what ``ovn-lbc convert --to yaml`` prints.

It reads back to an equal model. The YAML has the keys Incus prints
(``incus network load-balancer show``): health-check settings are strings
under ``config``, a forward's default target is ``config.target_address``,
and a backend or forward port without target ports has no ``target_port``.
The model as DSL is ``compiler/emit/dsl.py``.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..frontend.dsl_values import mac_text
from ..ir import (
    LXD_POOL_HEALTH_CHECK,
    Backend,
    Document,
    Forward,
    ForwardPort,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPool,
    LoadBalancerPort,
    Network,
    format_ports,
)

__all__ = ["document_to_yaml"]


class _Dumper(yaml.SafeDumper):
    """SafeDumper, with strings holding YAML's rarer line breaks double-quoted."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML writes U+0085 raw inside single quotes, where a reader folds it
    # to a space; inside double quotes it becomes the escape \N.
    style = '"' if any(ch in _RARE_BREAKS for ch in value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RARE_BREAKS = frozenset("\r\x85\u2028\u2029")
_Dumper.add_representer(str, _represent_str)


def document_to_yaml(document: Document) -> str:
    data: dict[str, Any] = {"version": 1}
    if document.declared_target is not None:
        data["target_ovn"] = str(document.declared_target.version)
    data["networks"] = [_network(network) for network in document.networks]
    # Wide lines: a long description stays on one line, as a reviewer reads it.
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 20)


def _network(network: Network) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": network.name,
        "row_prefix": network.row_prefix,
        "router": network.router,
        "switch": network.switch,
    }
    if network.ipv4 is not None:
        data["ipv4_address"] = str(network.ipv4)
    if network.ipv6 is not None:
        data["ipv6_address"] = str(network.ipv6)
    if network.router_mac is not None:
        data["router_mac"] = mac_text(network.router_mac)
    if network.attach_switches:
        data["attach_switches"] = list(network.attach_switches)
    if network.attach_routers:
        data["attach_routers"] = list(network.attach_routers)
    if network.lb_group is not None:
        data["lb_group"] = network.lb_group
    if network.probe_source.chosen():  # only what differs from the defaults
        data["probe_source"] = {f"ipv{version}": str(choice) for version, choice in network.probe_source.chosen()}
    if network.switch_ports:
        data["switch_ports"] = [
            {"name": port.name, "addresses": [str(address) for address in port.addresses]}
            | ({"instance": port.instance} if port.instance is not None else {})
            for port in network.switch_ports
        ]
    if network.forwards:
        data["forwards"] = [_forward(fwd) for fwd in network.forwards]
    if network.load_balancers:
        data["load_balancers"] = [_load_balancer(lb) for lb in network.load_balancers]
    if network.pools:
        data["load_balancer_pools"] = [_pool(pool) for pool in network.pools]
    return data


def _pool(pool: LoadBalancerPool) -> dict[str, Any]:
    """As ``lxc network load-balancer pool show`` prints it: the config keys
    LXD stores (protocol always; health-check values that differ from its
    defaults), sorted as yaml.v2 sorts them; ``used_by`` is LXD's to know."""
    config: dict[str, str] = {"protocol": pool.protocol, "target_port": str(pool.target_port)}
    if pool.health_check is None:
        config["healthcheck"] = "false"
    else:
        for key in ("interval", "timeout", "success_count", "failure_count"):
            value = getattr(pool.health_check, key)
            if value != getattr(LXD_POOL_HEALTH_CHECK, key):
                config[f"healthcheck.{key}"] = str(value)
    config.update(pool.user_config)
    instances = [
        {"name": instance.name} | ({"target_port": str(instance.target_port)} if instance.target_port else {})
        for instance in pool.instances
    ]
    return {
        "name": pool.name,
        "description": pool.description,
        "config": dict(sorted(config.items())),
        "instances": instances,
    }


def _load_balancer(lb: LoadBalancer) -> dict[str, Any]:
    config: dict[str, str] = {}
    if lb.health_check is not None:
        check = lb.health_check
        config["healthcheck"] = "true"
        config["healthcheck.interval"] = str(check.interval)
        config["healthcheck.timeout"] = str(check.timeout)
        config["healthcheck.success_count"] = str(check.success_count)
        config["healthcheck.failure_count"] = str(check.failure_count)
    config.update(_options(lb.options))
    config.update(lb.user_config)
    return {
        "listen_address": str(lb.listen_address),
        "description": lb.description,
        "config": config,
        "backends": [_backend(backend) for backend in lb.backends],
        "ports": [_load_balancer_port(port) for port in lb.ports],
        "location": "",
    }


def _options(options: LoadBalancerOptions) -> dict[str, str]:
    return {key: "true" if text is None else text for key, text in options.config_values()}


def _backend(backend: Backend) -> dict[str, Any]:
    data = {"name": backend.name, "description": backend.description, "target_address": str(backend.target_address)}
    if backend.target_ports:
        data["target_port"] = format_ports(backend.target_ports)
    return data


def _load_balancer_port(port: LoadBalancerPort) -> dict[str, Any]:
    data: dict[str, Any] = {
        "description": port.description,
        "protocol": port.protocol,
        "listen_port": format_ports(port.listen_ports),
    }
    if port.target_pool is not None:
        data["target_pool"] = port.target_pool
    else:
        data["target_backend"] = list(port.target_backends)
    return data


def _forward(fwd: Forward) -> dict[str, Any]:
    config: dict[str, str] = {}
    if fwd.default_target is not None:
        config["target_address"] = str(fwd.default_target)
    config.update(_options(fwd.options))
    config.update(fwd.user_config)
    return {
        "listen_address": str(fwd.listen_address),
        "description": fwd.description,
        "config": config,
        "ports": [_forward_port(port) for port in fwd.ports],
        "location": "",
    }


def _forward_port(port: ForwardPort) -> dict[str, Any]:
    data = {
        "description": port.description,
        "protocol": port.protocol,
        "listen_port": format_ports(port.listen_ports),
        "target_address": str(port.target_address),
    }
    if port.target_ports:
        data["target_port"] = format_ports(port.target_ports)
    return data
