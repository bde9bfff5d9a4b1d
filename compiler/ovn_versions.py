"""Which OVN release brought which load-balancer feature: the one table.

A file (``target_ovn``) or the command line (``--ovn-version``) says what the
site runs; against a live database the Northbound schema's version says it
too. A feature newer than the target is an error naming the release that
brought it (checks.check_ovn_version), so nothing OVN would ignore, or refuse
with a constraint violation, is ever written.

Sources: ovn-nb(5) of each release, OVN's NEWS, and the NB schemas in
../shared/ovn-schemas (23.03 to 26.03), which the tests load into a real
ovsdb-server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class OvnVersion:
    """An OVN release, X.Y or X.Y.Z (X.Y means X.Y.0)."""

    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor:02d}"
        return f"{text}.{self.patch}" if self.patch else text

    @property
    def series(self) -> tuple[int, int]:
        return (self.major, self.minor)


_VERSION = re.compile(r"([0-9]{1,3})\.([0-9]{1,2})(?:\.([0-9]{1,3}))?")

# The oldest release ovn-lbc writes for, and so the default target.
OLDEST_SUPPORTED = OvnVersion(23, 3)


def parse_ovn_version(text: str) -> OvnVersion | str:
    """``"24.03"`` -> OvnVersion(24, 3); or why not."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return f'"{text}" is not an OVN release like 24.03 or 23.03.1'
    version = OvnVersion(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    if version < OLDEST_SUPPORTED:
        return f"OVN {version} is older than the oldest release ovn-lbc supports ({OLDEST_SUPPORTED})"
    return version


@dataclass(frozen=True, slots=True)
class Feature:
    """The release that brought a feature, and (for a backport) the earlier
    series' patch release that has it too."""

    since: OvnVersion
    backport: OvnVersion | None = None

    def available_in(self, version: OvnVersion) -> bool:
        if version >= self.since:
            return True
        return self.backport is not None and version.series == self.backport.series and version >= self.backport

    def requirement(self) -> str:
        if self.backport is None:
            return f"OVN {self.since} or later"
        return f"OVN {self.backport}, or {self.since} or later"


# option key (or feature) -> the first release that has it. The features
# older than OLDEST_SUPPORTED are kept: they document the option, and the
# table stays right if the oldest supported release ever moves back.
FEATURES: dict[str, Feature] = {
    "reject": Feature(OvnVersion(21, 3)),
    "hairpin_snat_ip": Feature(OvnVersion(21, 3)),
    "skip_snat": Feature(OvnVersion(21, 6)),
    "add_route": Feature(OvnVersion(21, 9)),
    "lb_group": Feature(OvnVersion(21, 9)),
    "neighbor_responder": Feature(OvnVersion(22, 6)),
    "affinity_timeout": Feature(OvnVersion(22, 12)),
    "template": Feature(OvnVersion(23, 3)),
    "ct_flush": Feature(OvnVersion(23, 6), backport=OvnVersion(23, 3, 1)),
    "selection_fields_ipv6": Feature(OvnVersion(25, 3)),
    "use_stateless_nat": Feature(OvnVersion(25, 3)),
    "mapping_az": Feature(OvnVersion(25, 9)),  # the ":az" suffix of ip_port_mappings values
    "distributed": Feature(OvnVersion(26, 3)),
    # ovn-northd takes a logical router port's own address as a health-check
    # source (no spare address of the subnet needed) from 26.03 on.
    "probe_source_router": Feature(OvnVersion(26, 3)),
    # A router port's own address as the probe source, as LXD probes its pools
    # (LXD checks northd >= 25.09.90, the development version before 26.03).
    "pool_health_check": Feature(OvnVersion(26, 3)),
}

# Northbound schema version -> the first release that shipped it. A database
# between two entries is taken as the older one: what it supports is at
# least that.
SCHEMA_RELEASES: tuple[tuple[tuple[int, ...], OvnVersion], ...] = (
    ((7, 0, 0), OvnVersion(23, 3)),
    ((7, 3, 0), OvnVersion(24, 3)),
    ((7, 6, 0), OvnVersion(24, 9)),
    ((7, 11, 0), OvnVersion(25, 3)),
    ((7, 12, 0), OvnVersion(25, 9)),
    ((7, 18, 0), OvnVersion(26, 3)),
)


def release_of_schema(schema_version: str) -> OvnVersion | None:
    """The oldest OVN release with this NB schema version; None when older than any ovn-lbc supports."""
    try:
        key = tuple(int(part) for part in schema_version.split("."))
    except ValueError:
        return None
    found: OvnVersion | None = None
    for version, release in SCHEMA_RELEASES:
        if key >= version:
            found = release
    return found


def effective_target(declared: OvnVersion | None, database: OvnVersion) -> OvnVersion:
    """What to check against when the database says ``database`` (from its
    schema): the declared target, unless the database is an older series.
    A schema cannot tell patch releases apart, so a declared 23.03.1 stands
    against a 23.03 schema."""
    if declared is None:
        return database
    if database.series < declared.series:
        return database
    return declared
