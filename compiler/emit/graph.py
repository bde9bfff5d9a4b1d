"""``ovn-lbc graph``: a picture of what the files make, for a pull request.

One description (nodes, edges, one cluster per network) is built from the
lowered rows and the model, then drawn by either renderer: DOT for Graphviz,
Mermaid for a Markdown review. Per network: its router and switches (and
group), each Load_Balancer row and what it is attached to, each VIP to its
backends, each backend to its switch port and that port to its switch, and
the probe source of each health check with the ports it probes. Given the
Southbound Service_Monitor statuses (``graph --db``), each health-checked
backend is coloured online, offline or unknown.

Labels come from user strings (names, descriptions, file names) and, with
``--db``, from a peer (a status). Neither can break out of a label or
inject syntax: node ids are generated, never derived from names; every
label value goes through the renderer's own escaping (``dot_text``,
``mermaid_text``), control characters shown as visible escapes first; and
only the fixed captions ovn-lbc writes itself are left as they are.

Output is deterministic: nodes, edges and clusters in the files' order.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netaddr import IPAddress

from ..addresses import endpoint
from ..diagnostics import escape_controls
from ..ir import Document, Forward, LoadBalancer, Network, SwitchPort, expand_ports
from ..lower import GroupRow, LoadBalancerRow, NatRow, NorthboundChanges, target_port, vip_key

# (ip without brackets, port, protocol, logical port) -> Service_Monitor status.
MonitorStatuses = Mapping[tuple[str, int, str, str], str]
FORMATS = ("dot", "mermaid")
# Node kinds, and the short prefix of their generated ids. No prefix starts
# with "o", "x" or "v", or spells "end": Mermaid reads those specially.
_ID_PREFIX = {
    "router": "rt",
    "switch": "sw",
    "group": "gr",
    "load_balancer": "lb",
    "vip": "ip",
    "backend": "be",
    "switch_port": "pt",
    "probe_source": "src",
    "nat": "nat",
}
STATUSES = ("online", "offline", "unknown")
# How much of a status a peer sent is shown: it is the peer's word, not ours.
_MAX_STATUS = 40

# One line of a label: a caption ovn-lbc writes itself, and a value (from the
# user or a peer; escaped by each renderer); either may be empty.
Line = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Node:
    """A router, switch, group, row, VIP, backend, switch port or probe source."""

    id: str
    kind: str
    lines: tuple[Line, ...]
    status: str | None = None  # one of STATUSES, for a health-checked backend when statuses are known


@dataclass(frozen=True, slots=True)
class Edge:
    """An arrow between two nodes, by their ids."""

    source: str
    target: str
    caption: str = ""
    dashed: bool = False  # health checks and probes: not where traffic goes


@dataclass(frozen=True, slots=True)
class Cluster:
    """One network's box: the nodes first met while drawing it."""

    id: str
    lines: tuple[Line, ...]
    nodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Graph:
    """What both renderers draw, in a stable order."""

    title: tuple[Line, ...]
    clusters: tuple[Cluster, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


# -- the description -------------------------------------------------------------------


class _Builder:
    """Collects nodes once each by a key, in the order first met."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[object, ...], Node] = {}
        self.edges: dict[Edge, None] = {}
        self.clusters: list[tuple[str, tuple[Line, ...], list[str]]] = []
        self.counts: dict[str, int] = {}

    def cluster(self, lines: tuple[Line, ...]) -> list[str]:
        members: list[str] = []
        self.clusters.append((f"net{len(self.clusters) + 1}", lines, members))
        return members

    def node(
        self, key: tuple[object, ...], kind: str, lines: tuple[Line, ...], cluster: list[str], status: str | None = None
    ) -> str:
        found = self.nodes.get(key)
        if found is not None:
            return found.id
        self.counts[kind] = self.counts.get(kind, 0) + 1
        node = Node(f"{_ID_PREFIX[kind]}{self.counts[kind]}", kind, lines, status)
        self.nodes[key] = node
        cluster.append(node.id)
        return node.id

    def edge(self, source: str, target: str, caption: str = "", *, dashed: bool = False) -> None:
        self.edges.setdefault(Edge(source, target, caption, dashed))

    def graph(self, title: tuple[Line, ...]) -> Graph:
        clusters = tuple(Cluster(cid, lines, tuple(members)) for cid, lines, members in self.clusters)
        return Graph(title, clusters, tuple(self.nodes.values()), tuple(self.edges))


def _split_endpoint(text: str) -> tuple[IPAddress, int | None]:
    """A vips target as lowering wrote it (``addresses.endpoint``) -> address, port."""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        return IPAddress(address), int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        address, _, port = text.partition(":")
        return IPAddress(address), int(port)
    return IPAddress(text), None


def _target_names(row: LoadBalancerRow) -> dict[tuple[str, str], list[str]]:
    """(vips key, target) -> the names of the backends behind it, by lowering's own rules."""
    names: dict[tuple[str, str], list[str]] = {}
    model = row.model
    if not isinstance(model, LoadBalancer):
        return names
    for port in model.ports:
        if port.protocol != row.protocol:
            continue
        for index, listen_port in enumerate(expand_ports(port.listen_ports)):
            key = vip_key(model.listen_address, listen_port)
            for name in port.target_backends:
                backend = model.backend(name)
                if backend is None:
                    continue
                target = endpoint(backend.target_address, target_port(backend.target_ports, index, listen_port))
                if name not in names.setdefault((key, target), []):
                    names[(key, target)].append(name)
    return names


def _status(statuses: MonitorStatuses, key: tuple[str, int, str, str] | None) -> tuple[str, Line]:
    """The colour class of one backend's monitor, and the label line that says it."""
    found = statuses.get(key) if key is not None else None
    if found is None:
        return "unknown", ("no monitor", "")
    if not found:
        return "unknown", ("monitor: no status yet", "")
    shown = found if len(found) <= _MAX_STATUS else found[:_MAX_STATUS] + "..."
    if found == "online":
        return "online", ("monitor", shown)
    if found in ("offline", "error"):
        return "offline", ("monitor", shown)
    return "unknown", ("monitor", shown)


def _datapath_node(builder: _Builder, table: str, name: str, cluster: list[str]) -> str:
    kind, caption = ("router", "router") if table == "Logical_Router" else ("switch", "switch")
    return builder.node(("datapath", table, name), kind, ((caption, name),), cluster)


def _health_caption(row: LoadBalancerRow, key: str) -> str | None:
    for check in row.health_checks:
        if check.vip == key:
            options = dict(check.options)
            return f"health check every {options.get('interval', '?')} s"
    return None


@dataclass(frozen=True, slots=True)
class _Context:
    """What every row of one network draws into."""

    builder: _Builder
    network: Network
    cluster: list[str]
    switch: str  # the network's switch node
    ports: Mapping[IPAddress, SwitchPort]  # switch ports by address
    groups: Mapping[str, GroupRow]
    statuses: MonitorStatuses | None


def _network(
    builder: _Builder,
    network: Network,
    rows: Sequence[LoadBalancerRow],
    nats: Sequence[NatRow],
    groups: Mapping[str, GroupRow],
    statuses: MonitorStatuses | None,
) -> None:
    cluster = builder.cluster((("network", network.name),))
    for table, name in network.datapaths():
        _datapath_node(builder, table, name, cluster)
    switch = _datapath_node(builder, "Logical_Switch", network.switch, cluster)
    ports: dict[IPAddress, SwitchPort] = {}
    for switch_port in network.switch_ports:
        for address in switch_port.addresses:
            ports.setdefault(address, switch_port)
    context = _Context(builder, network, cluster, switch, ports, groups, statuses)
    for row in rows:
        _row(context, row)
    for nat in nats:
        _nat(context, nat)


def _nat(context: _Context, nat: NatRow) -> None:
    """A forward's default target: the router's dnat row and the one address it sends to."""
    builder, cluster = context.builder, context.cluster
    lines: tuple[Line, ...] = (("NAT dnat", nat.external_ip), ("every port no VIP takes", ""))
    node = builder.node(("nat", nat.router, nat.external_ip), "nat", lines, cluster)
    builder.edge(node, _datapath_node(builder, "Logical_Router", nat.router, cluster), "on")
    target = builder.node(
        ("nat-target", nat.router, nat.logical_ip), "backend", (("forward to", nat.logical_ip),), cluster
    )
    builder.edge(node, target)
    port = context.ports.get(IPAddress(nat.logical_ip))
    if port is not None:
        lsp = builder.node(("port", context.network.name, port.name), "switch_port", (("port", port.name),), cluster)
        builder.edge(target, lsp)
        builder.edge(lsp, context.switch)


def _row(context: _Context, row: LoadBalancerRow) -> None:
    builder, cluster = context.builder, context.cluster
    lines: list[Line] = [("load balancer", row.name)]
    if row.description:
        lines.append(("", row.description))
    lb = builder.node(("row", row.name), "load_balancer", tuple(lines), cluster)
    for table, name in row.datapaths:
        builder.edge(lb, _datapath_node(builder, table, name, cluster), "attached")
    if row.group is not None:
        group = builder.node(("group", row.group), "group", (("group", row.group),), cluster)
        builder.edge(lb, group, "member")
        reached = context.groups[row.group].datapaths if row.group in context.groups else ()
        for table, name in reached:
            builder.edge(group, _datapath_node(builder, table, name, cluster), "attached")
    names = _target_names(row)
    for key, targets in row.vips:
        address, number = _split_endpoint(key)
        vip_lines: tuple[Line, ...] = (("VIP", key), ("", row.protocol))
        if number is None:  # a forward's default target: what no port VIP of the address takes
            vip_lines += (("every other port", ""),)
        vip = builder.node(("vip", row.name, key), "vip", vip_lines, cluster)
        builder.edge(lb, vip)
        checked = _health_caption(row, key)
        source = context.network.health_check_source(address.version) if checked else None
        probe = None
        if checked is not None and source is not None:
            label: tuple[Line, ...] = (("probe source", str(source)),)
            probe = builder.node(("probe", context.network.name, str(source)), "probe_source", label, cluster)
            builder.edge(vip, probe, checked, dashed=True)
        for target in filter(None, targets.split(",")):
            _target(context, row, vip, target, names.get((key, target), []), checked is not None, probe)


def _target(
    context: _Context,
    row: LoadBalancerRow,
    vip: str,
    target: str,
    names: Sequence[str],
    checked: bool,
    probe: str | None,
) -> None:
    """One backend (or a forward's target) of a VIP, its switch port, and the probes it gets."""
    builder, cluster = context.builder, context.cluster
    address, number = _split_endpoint(target)
    port = context.ports.get(address)
    caption = "forward to" if isinstance(row.model, Forward) else "backend"
    lines: list[Line] = [(caption, ", ".join(names)), ("", target)]
    status = None
    if context.statuses is not None and checked:
        monitor = None
        if port is not None and number is not None:
            monitor = (str(address), number, row.protocol, port.name)
        status, line = _status(context.statuses, monitor)
        lines.append(line)
    backend = builder.node(("target", row.name, target), "backend", tuple(lines), cluster, status)
    builder.edge(vip, backend)
    if port is None:
        return
    lsp = builder.node(("port", context.network.name, port.name), "switch_port", (("port", port.name),), cluster)
    builder.edge(backend, lsp)
    builder.edge(lsp, context.switch)
    if probe is not None:
        builder.edge(probe, lsp, "probes", dashed=True)


def build_graph(
    document: Document,
    changes: NorthboundChanges,
    inputs: Sequence[str],
    *,
    statuses: MonitorStatuses | None = None,
    statuses_from: str = "",
) -> Graph:
    """The picture of ``changes``; with ``statuses`` (read from ``statuses_from``) the backends' monitors."""
    builder = _Builder()
    groups = {group.name: group for group in changes.groups}
    by_network: dict[str, list[LoadBalancerRow]] = {}
    for row in changes.rows:
        by_network.setdefault(row.network, []).append(row)
    nats_by_network: dict[str, list[NatRow]] = {}
    for nat in changes.nats:
        nats_by_network.setdefault(nat.network, []).append(nat)
    for network in document.networks:
        rows = by_network.get(network.name, [])
        _network(builder, network, rows, nats_by_network.get(network.name, []), groups, statuses)
    title: list[Line] = [("ovn-lbc graph of", ", ".join(inputs))]
    if statuses is not None:
        title.append(("monitor status from", statuses_from))
    return builder.graph(tuple(title))


# -- DOT ---------------------------------------------------------------------------------

# (shape, style, fill) per node kind.
_DOT_SHAPES = {
    "router": ("hexagon", "filled", "#e3f2fd"),
    "switch": ("box3d", "filled", "#e3f2fd"),
    "group": ("folder", "filled", "#fff8e1"),
    "load_balancer": ("box", "bold,filled", "#ede7f6"),
    "vip": ("ellipse", "", ""),
    "backend": ("box", "rounded", ""),
    "switch_port": ("cds", "", ""),
    "probe_source": ("parallelogram", "", ""),
    "nat": ("box", "bold,filled", "#fce4ec"),
}
# (fill, outline) per monitor status.
_COLOURS = {
    "online": ("#c8e6c9", "#2e7d32"),
    "offline": ("#ffcdd2", "#c62828"),
    "unknown": ("#eeeeee", "#757575"),
}


def dot_text(text: str) -> str:
    """``text`` inside a DOT double-quoted label, shown as it is: a backslash
    (Graphviz's escString: \\N, \\l, ...) and a quote escaped, ``&`` as the
    entity Graphviz decodes back, control characters as visible escapes."""
    shown = escape_controls(text)
    return shown.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")


def _joined(caption: str, value: str) -> str:
    return f"{caption} {value}" if caption and value else caption or value


def _dot_label(lines: Sequence[Line]) -> str:
    return "\\n".join(_joined(dot_text(caption), dot_text(value)) for caption, value in lines)


def _dot_node(node: Node) -> str:
    shape, style, fill = _DOT_SHAPES[node.kind]
    attributes = [f"shape={shape}"]
    colour = ""
    if node.status is not None:
        fill, colour = _COLOURS[node.status]
        style = ",".join(filter(None, (style, "filled")))
    if style:
        attributes.append(f'style="{style}"')
    if fill:
        attributes.append(f'fillcolor="{fill}"')
    if colour:
        attributes.append(f'color="{colour}"')
    attributes.append(f'label="{_dot_label(node.lines)}"')
    return f"{node.id} [{', '.join(attributes)}];"


def _dot_edge(edge: Edge) -> str:
    attributes = []
    if edge.caption:
        attributes.append(f'label="{dot_text(edge.caption)}"')
    if edge.dashed:
        attributes.append("style=dashed")
    return f"{edge.source} -> {edge.target}" + (f" [{', '.join(attributes)}]" if attributes else "") + ";"


def render_dot(graph: Graph) -> str:
    nodes = {node.id: node for node in graph.nodes}
    lines = [
        'digraph "ovn-lbc" {',
        f'    graph [rankdir=LR, fontname="Helvetica", labelloc=t, label="{_dot_label(graph.title)}"];',
        '    node [fontname="Helvetica", fontsize=10];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for cluster in graph.clusters:
        lines.append(f"    subgraph cluster_{cluster.id} {{")
        lines.append(f'        label="{_dot_label(cluster.lines)}";')
        lines.append("        style=rounded;")
        lines.extend(f"        {_dot_node(nodes[member])}" for member in cluster.nodes)
        lines.append("    }")
    lines.extend(f"    {_dot_edge(edge)}" for edge in graph.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid -----------------------------------------------------------------------------

# Characters a value keeps as they are; every other one becomes an entity code
# (#NN;), which Mermaid turns back into the character when it draws. Spaces
# are encoded too: Mermaid's lexer reads a line holding "direction TB" as a
# direction statement even inside quotes.
_MERMAID_PLAIN = frozenset(string.ascii_letters + string.digits + ".-_:/@+,=()[]")
_MERMAID_SHAPES = {
    "router": ("{{", "}}"),
    "switch": ("[[", "]]"),
    "group": ("[(", ")]"),
    "load_balancer": ("[", "]"),
    "vip": ("([", "])"),
    "backend": ("(", ")"),
    "switch_port": ("[/", "\\]"),
    "probe_source": ("((", "))"),
    "nat": ("[", "]"),
}


# Before parsing, Mermaid drops the last ";" of a line where "style" or
# "classDef" is followed by ":", "#" and ";" (meant for colours), which would
# cut an entity code short: in a value, their first letter is encoded instead.
_MERMAID_WORDS = {"style": "#115;tyle", "classDef": "#99;lassDef"}


def mermaid_text(text: str) -> str:
    """``text`` inside a Mermaid double-quoted label, shown as it is: no quote,
    markup (<, >, &, `), entity (#), comment (%) or whitespace survives raw."""
    encoded = "".join(char if char in _MERMAID_PLAIN else f"#{ord(char)};" for char in escape_controls(text))
    for word, replacement in _MERMAID_WORDS.items():
        encoded = encoded.replace(word, replacement)
    return encoded


def _mermaid_label(lines: Sequence[Line], separator: str = "<br/>") -> str:
    return separator.join(
        caption + (" " if caption and value else "") + mermaid_text(value) for caption, value in lines
    )


def _mermaid_node(node: Node) -> str:
    opening, closing = _MERMAID_SHAPES[node.kind]
    return f'{node.id}{opening}"{_mermaid_label(node.lines)}"{closing}'


def _mermaid_edge(edge: Edge) -> str:
    arrow = "-.->" if edge.dashed else "-->"
    label = f'|"{_mermaid_label(((edge.caption, ""),))}"|' if edge.caption else ""
    return f"{edge.source} {arrow}{label} {edge.target}"


def render_mermaid(graph: Graph) -> str:
    nodes = {node.id: node for node in graph.nodes}
    # The title as a comment, after the diagram type (some Mermaid releases read the first line for it).
    lines = ["flowchart LR", f"    %% {_mermaid_label(graph.title, '; ')}"]
    for cluster in graph.clusters:
        lines.append(f'    subgraph {cluster.id}["{_mermaid_label(cluster.lines)}"]')
        lines.extend(f"        {_mermaid_node(nodes[member])}" for member in cluster.nodes)
        lines.append("    end")
    lines.extend(f"    {_mermaid_edge(edge)}" for edge in graph.edges)
    statuses = [node for node in graph.nodes if node.status is not None]
    if statuses:
        for status in STATUSES:
            fill, stroke = _COLOURS[status]
            lines.append(f"    classDef {status} fill:{fill},stroke:{stroke}")
        lines.extend(f"    class {node.id} {node.status}" for node in statuses)
    return "\n".join(lines) + "\n"


def render_graph(graph: Graph, output_format: str) -> str:
    """One renderer per format; an unknown format fails loudly."""
    renderers = {"dot": render_dot, "mermaid": render_mermaid}
    return renderers[output_format](graph)
