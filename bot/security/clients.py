"""Which client sent a request, as a key for per-client limits: pure, from the peer and headers.

``X-Forwarded-For`` is honoured only when the direct peer is a trusted proxy; anyone else can
write whatever they like into it. IPv6 clients are keyed by their /64, because one host
usually holds a whole /64 and could otherwise change address for every attempt.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


def parse_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or bare addresses) as networks; raises ValueError naming a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR: {value!r}") from None
    return tuple(networks)


def client_key(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """The client a request came from: the peer, or when the peer is a trusted proxy, the
    nearest ``X-Forwarded-For`` hop that is not a trusted proxy itself."""
    address = _address(peer)
    if address is None:
        return UNKNOWN
    if trusted and _trusted(address, trusted):
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        # Proxies append, so the right end is the part our own proxies wrote; walk leftwards
        # until the first hop we did not put there ourselves.
        for hop in reversed(hops):
            parsed = _address(hop)
            if parsed is None:
                break
            address = parsed
            if not _trusted(parsed, trusted):
                break
    return _key(address)


def _address(value: str | None) -> IPAddress | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def _key(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
