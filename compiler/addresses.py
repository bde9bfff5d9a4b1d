"""Address arithmetic and the exact strings OVN compares.

OVN matches a health check to its VIP with strcmp, and ip_port_mappings keys
to backends the same way, so every string that names an address is built
here, once, from canonical netaddr objects.
"""

from __future__ import annotations

from netaddr import EUI, IPAddress, IPNetwork


def host(address: IPAddress) -> str:
    """An address as OVN wants it in a key or a target: IPv6 in brackets."""
    return f"[{address}]" if address.version == 6 else str(address)


def endpoint(address: IPAddress, port: int | None) -> str:
    """``10.0.0.1:80``, ``[fd00::1]:80``, or the bracketed address alone."""
    return host(address) if port is None else f"{host(address)}:{port}"


def last_usable_address(subnet: IPNetwork) -> IPAddress | None:
    """The address two below the end of the subnet: x.x.x.254 in an IPv4 /24,
    ``<prefix>:ffff:ffff:ffff:fffe`` in an IPv6 /64.

    Incus's ``GetIP(subnet, -2)``, for both families (for IPv4 the address
    below the broadcast address, the last usable one). None when the subnet
    has fewer than four addresses: /31 and /32, /127 and /128 have none to spare.
    """
    if subnet.size < 4:
        return None
    return IPAddress(int(subnet.last) - 1, subnet.version)


def eui64_address(subnet: IPNetwork, router_mac: EUI) -> IPAddress | None:
    """The modified EUI-64 address of ``router_mac`` in the subnet's /64.

    Flip the universal/local bit of the MAC and insert ff:fe in the middle;
    02:75:b9:2e:ad:f4 in fd42:1:2:3::/64 gives fd42:1:2:3:75:b9ff:fe2e:adf4.
    None when the subnet is longer than /64 (no room for an interface id).
    """
    if subnet.prefixlen > 64:
        return None
    mac = int(router_mac)
    interface_id = ((mac >> 24) << 40) | (0xFFFE << 24) | (mac & 0xFFFFFF)
    interface_id ^= 1 << 57  # the universal/local bit of the first octet
    prefix = int(subnet.ip) >> 64 << 64
    return IPAddress(prefix | interface_id, 6)
