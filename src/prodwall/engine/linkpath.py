"""The link-layer path past the vantage's own IP stack: routes, next hops, frames.

A packet socket (AF_PACKET, qdisc bypass) hands finished Ethernet frames to
the driver: no route lookup, netfilter hooks or neighbour lookup per packet,
about a third more packets per second than a raw IP socket, and the
vantage's own firewall is not in the way (it protects that host only; the
network is what is tested). Frames are used where:

- the kernel's own route lookup (`ip route get`, policy routing included)
  gives a unicast route out of an Ethernet device;
- the next hop's MAC address is known or can be resolved;
- no IPsec policy (`ip xfrm policy`) would carry the packet through a tunnel.

Anything else keeps the kernel's IP path for that target, where the
vantage's own refusals are observed: no route, blackhole, prohibit (no-route),
and its packet filter (local-filter: the network past it was not tested).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from prodwall.engine.wire import fold

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
_USABLE_NEIGHBOUR = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}


@dataclass(frozen=True)
class LinkRoute:
    """The kernel's route to a target: out of `dev`, to `next_hop` (the target if on-link)."""

    dev: str
    next_hop: str


def _ip_json(*argv: str, stdin: str | None = None) -> list[dict[str, object]] | None:
    """`ip -j ...` output as a list of objects (a batch's several arrays joined), or None
    if the command failed or is missing."""
    try:
        out = subprocess.run(
            ["ip", "-j", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 and stdin is None:
        return None
    found: list[dict[str, object]] = []
    for line in out.stdout.splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            return None
        if isinstance(data, list):
            found.extend(d for d in data if isinstance(d, dict))
    return found


@dataclass(frozen=True)
class LocalFilter:
    """What on the vantage itself may treat probes differently from the network: its
    packet filter (nftables, legacy iptables) and IPsec policies."""

    rules: str  # "" when none is shown to exist; else what was found
    ipsec: bool  # IPsec policies: packets would travel through a tunnel

    @property
    def none(self) -> bool:
        return not self.rules and not self.ipsec

    def describe(self) -> str:
        parts = [self.rules] if self.rules else []
        if self.ipsec:
            parts.append("IPsec policy (ip xfrm policy)")
        return " and ".join(parts) or "none"


def local_filter() -> LocalFilter:
    """The vantage's own filters; any doubt (a command missing or failing) counts as one."""
    try:
        nft = subprocess.run(
            ["nft", "list", "ruleset"], capture_output=True, text=True, timeout=5, check=False
        )
        xfrm = subprocess.run(
            ["ip", "xfrm", "policy"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return LocalFilter("unknown (nft or ip could not be run)", True)
    found = []
    if nft.returncode != 0:
        found.append("unknown (nft list ruleset failed)")
    elif nft.stdout.strip():
        chains = nft.stdout.count("hook ")
        found.append(f"nftables ruleset ({chains} base chains)")
    for legacy in ("ip_tables_names", "ip6_tables_names"):
        path = Path("/proc/net") / legacy
        if path.exists() and path.read_text().strip():
            found.append(f"legacy iptables tables ({legacy})")
    ipsec = xfrm.returncode != 0 or bool(xfrm.stdout.strip())
    return LocalFilter(" and ".join(found), ipsec)


def routes(targets: list[str]) -> dict[str, LinkRoute | None]:
    """The kernel's route to each target, in one `ip -batch` call (a command per target
    would cost ~5 ms each). A target without a unicast route maps to None: unreachable,
    blackhole and prohibit are reported by the kernel path itself."""
    found: dict[str, LinkRoute | None] = dict.fromkeys(targets)
    wanted = {str(ipaddress.ip_address(t)): t for t in targets}
    batch = "".join(f"route get {t}\n" for t in wanted)
    for entry in _ip_json("-force", "-batch", "-", stdin=batch) or []:
        dst, dev = entry.get("dst"), entry.get("dev")
        if not isinstance(dst, str) or not isinstance(dev, str):
            continue
        target = wanted.get(str(ipaddress.ip_address(dst)))
        via = entry.get("gateway", dst)
        if target is None or not isinstance(via, str) or entry.get("type", "unicast") != "unicast":
            continue
        found[target] = LinkRoute(dev, via)
    return found


def neighbour(dev: str, next_hop: str) -> bytes | None:
    """The next hop's MAC address, if the neighbour table holds a usable one."""
    for entry in _ip_json("neigh", "show", "to", next_hop, "dev", dev) or []:
        states = entry.get("state", [])
        mac = entry.get("lladdr")
        if isinstance(mac, str) and isinstance(states, list) and _USABLE_NEIGHBOUR & set(states):
            return bytes.fromhex(mac.replace(":", ""))
    return None


def nudge(dev: str, next_hop: str) -> None:
    """Make the kernel resolve `next_hop`'s MAC with one empty datagram to its discard port,
    for when the vantage's filter refused the probe that would have resolved it."""
    v6 = ":" in next_hop
    try:
        with socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
            where: tuple[str, int] | tuple[str, int, int, int] = (next_hop, 9)
            if v6:
                where = (next_hop, 9, 0, socket.if_nametoindex(dev))
            s.sendto(b"", where)
    except OSError:
        pass  # refused too: the MAC stays unknown and the kernel's path is used


def ethernet(dev: str) -> tuple[int, bytes] | None:
    """(ifindex, own MAC) of an Ethernet device; None for any other link type."""
    links = _ip_json("link", "show", "dev", dev)
    if not links:
        return None
    link = links[0]
    mac, index = link.get("address"), link.get("ifindex")
    if link.get("link_type") != "ether" or not isinstance(mac, str) or not isinstance(index, int):
        return None
    return index, bytes.fromhex(mac.replace(":", ""))


def frame_header(
    src: str,
    dst: str,
    src_mac: bytes,
    dst_mac: bytes,
    proto: int = socket.IPPROTO_TCP,
    length: int = 24,
) -> bytes:
    """Ethernet + IP headers for a `length`-byte segment of `proto` (a 24-byte SYN by
    default) from src to dst (TTL/hop limit 64, DF)."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 6:
        ip = struct.pack("!IHBB", 6 << 28, length, proto, 64) + s.packed + d.packed
        ethertype = ETH_P_IPV6
    else:
        head = struct.pack("!BBHHHBBH", 0x45, 0, 20 + length, 0, 0x4000, 64, proto, 0)
        ip = head + s.packed + d.packed
        checksum = fold(sum(struct.unpack("!10H", ip)))
        ip = ip[:10] + struct.pack("!H", checksum) + ip[12:]
        ethertype = ETH_P_IP
    return dst_mac + src_mac + struct.pack("!H", ethertype) + ip


def sockaddr_ll(ifindex: int, ethertype: int, mac: bytes) -> bytes:
    """struct sockaddr_ll: which device a packet socket sends a frame out of."""
    return struct.pack(
        "=HHiHBB8s", socket.AF_PACKET, socket.htons(ethertype), ifindex, 1, 0, 6, mac
    )
