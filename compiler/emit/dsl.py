"""The model as DSL text: what ``ovn-lbc convert --to dsl`` prints.

An output of the model, so it lives with the other emitters; the DSL's
lexical facts (quoting, names that must be quoted because they are
keywords, the spelling of MACs, durations and endpoints) come from the
front end that reads them back, and the layout (``INDENT``) from ``fmt``,
so formatting the output changes nothing and reading it back gives an
equal model.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..frontend.dsl_format import INDENT
from ..frontend.dsl_values import duration_text, endpoint_text, mac_text, name_text, quote, user_key_text
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

__all__ = ["document_to_dsl"]


def document_to_dsl(document: Document) -> str:
    """The model as DSL text in canonical layout; reading it back gives an equal model."""
    lines = ["version 1"]
    if document.declared_target is not None:
        lines.append(f"target-ovn {document.declared_target.version}")
    for network in document.networks:
        lines.append("")
        lines.extend(_network(network))
    return "\n".join(lines) + "\n"


def _network(network: Network) -> Iterator[str]:
    yield f"network {name_text(network.name)} {{"
    yield f"{INDENT}row-prefix {name_text(network.row_prefix)}"
    yield f"{INDENT}router {name_text(network.router)}"
    yield f"{INDENT}switch {name_text(network.switch)}"
    if network.ipv4 is not None:
        yield f"{INDENT}ipv4 {network.ipv4}"
    if network.ipv6 is not None:
        yield f"{INDENT}ipv6 {network.ipv6}"
    if network.router_mac is not None:
        yield f"{INDENT}router-mac {mac_text(network.router_mac)}"
    if network.attach_routers:
        yield " ".join([f"{INDENT}attach-router", *(name_text(name) for name in network.attach_routers)])
    if network.attach_switches:
        yield " ".join([f"{INDENT}attach-switch", *(name_text(name) for name in network.attach_switches)])
    if network.lb_group is not None:
        yield f"{INDENT}lb-group {name_text(network.lb_group)}"
    for version, choice in network.probe_source.chosen():  # only what differs from the defaults
        yield f"{INDENT}probe-source ipv{version} {choice}"
    if network.switch_ports:
        yield ""
    for port in network.switch_ports:
        instance = ["instance", name_text(port.instance)] if port.instance is not None else []
        yield " ".join([f"{INDENT}switch-port", name_text(port.name), *(str(a) for a in port.addresses), *instance])
    blocks = [*(_pool(p) for p in network.pools), *(_forward(f) for f in network.forwards)]
    for block in [*blocks, *(_load_balancer(lb) for lb in network.load_balancers)]:
        yield ""
        yield from (f"{INDENT}{line}" for line in block)
    yield "}"


def _user_config(user_config: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"{user_key_text(key)} {quote(value)}" for key, value in user_config]


def _options(options: LoadBalancerOptions) -> list[str]:
    lines = []
    for key, text in options.config_values():
        keyword = key.replace("_", "-")
        if key == "affinity_timeout" and options.affinity_timeout is not None:
            text = duration_text(options.affinity_timeout)
        lines.append(keyword if text is None else f"{keyword} {text}")
    return lines


def _with_description(text: str, description: str) -> str:
    return f"{text} {quote(description)}" if description else text


def _load_balancer(lb: LoadBalancer) -> list[str]:
    body = [f"description {quote(lb.description)}"] if lb.description else []
    if lb.health_check is not None:
        check = lb.health_check
        body.append(
            f"health-check interval {duration_text(check.interval)} timeout {duration_text(check.timeout)} "
            f"success {check.success_count} failure {check.failure_count}"
        )
    body += _options(lb.options)
    body += _user_config(lb.user_config)
    body += [_backend(backend) for backend in lb.backends]
    body += [_load_balancer_port(port) for port in lb.ports]
    return [f"load-balancer {lb.listen_address} {{", *(INDENT + line for line in body), "}"]


def _backend(backend: Backend) -> str:
    target = endpoint_text(backend.target_address, format_ports(backend.target_ports))
    return _with_description(f"backend {name_text(backend.name)} {target}", backend.description)


def _pool(pool: LoadBalancerPool) -> list[str]:
    body = [f"description {quote(pool.description)}"] if pool.description else []
    body += [f"protocol {pool.protocol}", f"target-port {pool.target_port}"]
    check = pool.health_check
    if check is None:
        body.append("no-health-check")
    elif check != LXD_POOL_HEALTH_CHECK:  # no line: on, with LXD's defaults
        body.append(
            f"health-check interval {duration_text(check.interval)} timeout {duration_text(check.timeout)} "
            f"success {check.success_count} failure {check.failure_count}"
        )
    body += _user_config(pool.user_config)
    for instance in pool.instances:
        port = f" {instance.target_port}" if instance.target_port is not None else ""
        body.append(f"instance {name_text(instance.name)}{port}")
    return [f"pool {name_text(pool.name)} {{", *(INDENT + line for line in body), "}"]


def _load_balancer_port(port: LoadBalancerPort) -> str:
    if port.target_pool is not None:
        text = f"{port.protocol} {format_ports(port.listen_ports)} -> pool {name_text(port.target_pool)}"
        return _with_description(text, port.description)
    names = ", ".join(name_text(name) for name in port.target_backends)
    return _with_description(f"{port.protocol} {format_ports(port.listen_ports)} -> {names}", port.description)


def _forward(fwd: Forward) -> list[str]:
    body = [f"description {quote(fwd.description)}"] if fwd.description else []
    if fwd.default_target is not None:
        body.append(f"default {fwd.default_target}")
    body += _options(fwd.options)
    body += _user_config(fwd.user_config)
    body += [_forward_port(port) for port in fwd.ports]
    return [f"forward {fwd.listen_address} {{", *(INDENT + line for line in body), "}"]


def _forward_port(port: ForwardPort) -> str:
    target = endpoint_text(port.target_address, format_ports(port.target_ports))
    return _with_description(f"{port.protocol} {format_ports(port.listen_ports)} -> {target}", port.description)
