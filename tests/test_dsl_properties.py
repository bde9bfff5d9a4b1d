"""Properties of the DSL: any model survives printing, any text survives parsing."""

from __future__ import annotations

from hypothesis import HealthCheck as Health
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import EUI, IPAddress, IPNetwork

from compiler.diagnostics import CompileError, SourceText
from compiler.emit.dsl import document_to_dsl
from compiler.emit.yaml import document_to_yaml
from compiler.frontend.document import load_document
from compiler.frontend.dsl import KEYWORDS, PROTOCOL_WORDS, load_dsl
from compiler.frontend.dsl_format import format_dsl
from compiler.frontend.values import parse_gateway
from compiler.ir import (
    NEIGHBOR_RESPONDER_MODES,
    POOL_PROTOCOLS,
    PROTOCOLS,
    SELECTION_FIELDS,
    Backend,
    Document,
    Forward,
    ForwardPort,
    HealthCheck,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPool,
    LoadBalancerPort,
    Network,
    PoolInstance,
    PortRange,
    ProbeSource,
    SwitchPort,
    Target,
)
from compiler.ovn_versions import OLDEST_SUPPORTED, OvnVersion

from .conftest import SAMPLES

# ---------------------------------------------------------------- models

# Any character OVSDB can store: no NUL, no lone surrogate.
storable = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
tricky = st.sampled_from(['"', "\\", "\n", "\t", "\r", "#", "{", "}", ",", "->", "é", "\u2028", "\ufeff", "😀", " "])
texts = st.lists(st.one_of(storable, tricky), max_size=12).map("".join)
bare_names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,10}", fullmatch=True)
odd_names = st.lists(st.one_of(storable, tricky), min_size=1, max_size=8).map("".join)
names = st.one_of(
    bare_names,
    st.sampled_from([*KEYWORDS.values(), *PROTOCOL_WORDS, "user.x", "017", "true", "null", "~", "-x"]),
    odd_names,
).filter(lambda name: bool(name.strip()) and not any(ch.isspace() for ch in name))

ipv4 = st.integers(0, 2**32 - 1).map(lambda n: IPAddress(n, 4))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: IPAddress(n, 6))
addresses = st.one_of(ipv4, ipv6)


@st.composite
def port_ranges(draw: st.DrawFn) -> PortRange:
    first = draw(st.integers(1, 65535))
    last = draw(st.one_of(st.just(first), st.integers(first, 65535)))
    return PortRange(first, last)


port_lists = st.lists(port_ranges(), min_size=1, max_size=4).map(tuple)
optional_ports = st.one_of(st.just(()), port_lists)
user_config = st.dictionaries(texts.map(lambda key: "user." + key), texts, max_size=3).map(
    lambda pairs: tuple(sorted(pairs.items()))
)
seconds = st.one_of(st.integers(1, 2**31 - 1), st.sampled_from([5, 60, 90, 3600, 7200]))
health_checks = st.one_of(
    st.none(),
    st.builds(HealthCheck, seconds, seconds, st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1)),
)


def gateways(version: int) -> st.SearchStrategy[IPNetwork]:
    width = 32 if version == 4 else 128
    candidates = st.tuples(ipv4 if version == 4 else ipv6, st.integers(0, width))
    return candidates.map(lambda pair: parse_gateway(f"{pair[0]}/{pair[1]}", version, "x")).filter(
        lambda result: isinstance(result, IPNetwork)
    )


# Any options: the front ends read what the checks would refuse too.
options = st.builds(
    LoadBalancerOptions,
    st.one_of(st.none(), st.integers(1, 65535)),
    st.lists(st.sampled_from(SELECTION_FIELDS), unique=True, max_size=4).map(tuple),
    st.booleans(),
    st.booleans(),
    st.one_of(st.just(()), ipv4.map(lambda a: (a,)), ipv6.map(lambda a: (a,)), st.tuples(ipv4, ipv6)),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(NEIGHBOR_RESPONDER_MODES)),
    st.booleans(),
    st.booleans(),
)
targets = st.one_of(
    st.none(),
    st.builds(OvnVersion, st.integers(23, 40), st.integers(0, 12), st.integers(0, 3))
    .filter(lambda version: version >= OLDEST_SUPPORTED)
    .map(Target),
)

backends = st.builds(Backend, names, addresses, optional_ports, texts)
lb_ports = st.one_of(
    st.builds(
        LoadBalancerPort,
        st.sampled_from(PROTOCOLS),
        port_lists,
        st.lists(names, min_size=1, max_size=3).map(tuple),
        texts,
    ),
    # LXD: a pool instead of backends (the front ends read any listen ports; the checks want one).
    st.builds(LoadBalancerPort, st.sampled_from(PROTOCOLS), port_lists, st.just(()), texts, names),
)
# A pool's values are LXD's: 0 is a value, not the default.
pool_health_checks = st.one_of(
    st.none(),
    st.builds(
        HealthCheck,
        st.one_of(st.just(0), seconds),
        st.one_of(st.just(0), seconds),
        st.integers(0, 2**31 - 1),
        st.integers(0, 2**31 - 1),
    ),
)
ports = st.integers(1, 65535)
pools = st.builds(
    LoadBalancerPool,
    names,
    ports,
    st.sampled_from(POOL_PROTOCOLS),
    texts,
    pool_health_checks,
    st.lists(st.builds(PoolInstance, names, st.one_of(st.none(), ports)), max_size=3).map(tuple),
    user_config,
)
load_balancers = st.builds(
    LoadBalancer,
    addresses,
    st.lists(backends, max_size=3).map(tuple),
    st.lists(lb_ports, max_size=3).map(tuple),
    texts,
    health_checks,
    options,
    user_config,
)
forward_ports = st.builds(ForwardPort, st.sampled_from(PROTOCOLS), port_lists, addresses, optional_ports, texts)
forwards = st.builds(
    Forward,
    addresses,
    st.lists(forward_ports, max_size=3).map(tuple),
    st.one_of(st.none(), addresses),
    texts,
    options,
    user_config,
)
switch_ports = st.builds(SwitchPort, names, st.lists(addresses, max_size=3).map(tuple), st.one_of(st.none(), names))
# Any choice of its family: the front ends leave "is it in the subnet" to the checks.
probe_sources = st.builds(
    ProbeSource,
    st.one_of(st.sampled_from(["last", "router"]), ipv4),
    st.one_of(st.sampled_from(["last", "eui64", "router"]), ipv6),
)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    v4 = draw(st.one_of(st.none(), gateways(4)))
    v6 = draw(gateways(6) if v4 is None else st.one_of(st.none(), gateways(6)))
    return Network(
        name=draw(names),
        row_prefix=draw(names),
        router=draw(names),
        switch=draw(names),
        ipv4=v4,
        ipv6=v6,
        router_mac=draw(st.one_of(st.none(), st.integers(0, 2**48 - 1).map(EUI))),
        switch_ports=tuple(draw(st.lists(switch_ports, max_size=3))),
        attach_switches=tuple(draw(st.lists(names, max_size=2))),
        attach_routers=tuple(draw(st.lists(names, max_size=2))),
        lb_group=draw(st.one_of(st.none(), names)),
        probe_source=draw(probe_sources),
        forwards=tuple(draw(st.lists(forwards, max_size=2))),
        load_balancers=tuple(draw(st.lists(load_balancers, max_size=2))),
        pools=tuple(draw(st.lists(pools, max_size=2))),
    )


documents = st.builds(lambda items, target: Document(tuple(items), target), st.lists(networks(), max_size=2), targets)


def assert_same(read: Document, written: Document) -> None:
    assert read == written
    # netaddr compares subnets by range only; the printed form keeps the gateway too.
    assert document_to_dsl(read) == document_to_dsl(written)


@settings(max_examples=150, deadline=None, suppress_health_check=[Health.too_slow])
@given(documents)
def test_any_model_printed_as_dsl_reads_back_equal(document: Document) -> None:
    text = document_to_dsl(document)
    read, diagnostics = load_dsl(SourceText("p.lb", text))
    assert diagnostics == []
    assert_same(read, document)
    assert format_dsl(SourceText("p.lb", text)) == text


@settings(max_examples=100, deadline=None, suppress_health_check=[Health.too_slow])
@given(documents)
def test_any_model_written_as_yaml_reads_back_equal(document: Document) -> None:
    read, diagnostics = load_document(SourceText("p.yaml", document_to_yaml(document)), "yaml")
    assert diagnostics == []
    assert_same(read, document)


# ---------------------------------------------------------------- broken text

SAMPLE_TEXTS = [path.read_text(encoding="utf-8") for path in sorted(SAMPLES.glob("*.lb"))]
JUNK = ["-", ":", ",", "{", "}", "[", "]", '"', "\\", "#", "->", "\n", "\t", "\r", " ", "é", "\x00", "user.", "tcp"]


@st.composite
def edited(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if draw(st.booleans()):
            lines = text.splitlines(keepends=True)
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if kind == "delete":
                del lines[i]
            elif kind == "duplicate":
                lines.insert(i, lines[i])
            elif kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(i, draw(st.sampled_from(JUNK)) + "\n")
            text = "".join(lines)
        elif text:
            i = draw(st.integers(0, len(text) - 1))
            if kind == "delete":
                text = text[:i] + text[i + 1 :]
            elif kind == "duplicate":
                text = text[: i + 1] + text[i:]
            elif kind == "swap":
                text = text[:i] + text[i + 1 : i + 2] + text[i] + text[i + 2 :]
            else:
                text = text[:i] + draw(st.sampled_from(JUNK)) + text[i:]
    return text


# Words of the language in any order: reaches parser states that edits of
# the samples rarely do (braces and block keywords anywhere).
WORDS = [*KEYWORDS.values(), *PROTOCOL_WORDS, 'user."k"', "user.x", '"s"', "10.0.0.1", "[fd42::1]:80", "80,90-95"]
WORDS += ["5s", "3", "fd42::1/64", "02:75:b9:2e:ad:f4", "10.0.0.1/24", "{", "}", "->", ",", "#c", "\n", "\n"]
soups = st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join)
broken_texts = st.one_of(edited(), soups, st.text(max_size=60))


@settings(max_examples=600, deadline=None)
@given(broken_texts)
def test_edited_text_gives_located_diagnostics_never_an_exception(text: str) -> None:
    source = SourceText("e.lb", text)
    document, diagnostics = load_dsl(source)
    assert isinstance(document, Document)
    for diagnostic in diagnostics:
        line = source.line(diagnostic.span.line)
        assert line is not None, diagnostic
        assert 1 <= diagnostic.span.column <= len(line) + 1, diagnostic


@settings(max_examples=300, deadline=None)
@given(broken_texts)
def test_fmt_of_edited_text_is_idempotent_and_keeps_the_model(text: str) -> None:
    try:
        once = format_dsl(SourceText("e.lb", text))
    except CompileError as exc:
        # Only the structure's codes: E302 is one, a `default` line in a load-balancer block.
        assert {d.code for d in exc.diagnostics} <= {"E100", "E102", "E105", "E204", "E302"}
        return
    assert format_dsl(SourceText("e.lb", once)) == once
    assert load_dsl(SourceText("e.lb", once))[0] == load_dsl(SourceText("e.lb", text))[0]
