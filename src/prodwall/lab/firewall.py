"""The router's nftables ruleset: default drop, the allowed flows, and the leaky holes.

dev is refused loudly (ICMP admin-prohibited, positive evidence for probes);
test is dropped silently, so its probes depend on their positive controls.
Both are counted and logged.
"""

from __future__ import annotations

from prodwall.lab.topology import AWS_PORT, BYPASS_V4, HOSTS, ZONES

TABLE = "prodwall_lab"


def ruleset(profile: str) -> str:
    dev, test, shared, prod = (ZONES[n] for n in ("dev", "test", "shared", "prod"))
    art, aws = HOSTS["artifacts"], HOSTS["aws-api"]
    # every dev and test segment (the fleet's six included) is treated as dev or test is
    dev_ifs, test_ifs, both = _ifs("dev"), _ifs("test"), _ifs("dev", "test")
    allowed = [
        # allowed flows of inventories/lab.yaml: dev and test may use the artifact mirror
        f"iifname {both} ip daddr {art.v4()} tcp dport 80 counter accept",
        f"iifname {both} ip6 daddr {art.v6()} tcp dport 80 counter accept",
        # the known-closed control port on the mirror answers with a RST from the host
        f"iifname {both} ip daddr {art.v4()} tcp dport 81 counter accept",
        f"iifname {both} ip6 daddr {art.v6()} tcp dport 81 counter accept",
        # the lab's AWS endpoint, reachable from dev and test as AWS's endpoints are
        f"iifname {both} ip daddr {aws.v4()} tcp dport {AWS_PORT} counter accept",
        f"iifname {both} ip6 daddr {aws.v6()} tcp dport {AWS_PORT} counter accept",
        # every zone may reach the shared zone's ICMP echo (a control for ICMP probes)
        f"ip daddr {shared.v4} icmp type echo-request counter accept",
        f"ip6 daddr {shared.v6} icmpv6 type echo-request counter accept",
    ]
    holes: list[str] = []
    if profile == "leaky":
        holes = [
            "# planted: TCP hole dev -> prod-db postgres",
            f'iifname "{dev.router_if}" ip daddr {HOSTS["prod-db"].v4()} tcp dport 5432 '
            "counter accept",
            "# planted: UDP hole test -> prod-dns",
            f'iifname "{test.router_if}" ip daddr {HOSTS["prod-dns"].v4()} udp dport 53 '
            "counter accept",
            "# planted: an IPv6 rule the IPv4 rules forget",
            f'iifname "{dev.router_if}" ip6 daddr {prod.v6} counter accept',
            "# planted: a fleet segment's own hole, dev3 -> prod-k8s kube API",
            f'iifname "{ZONES[FLEET_LEAK_ZONE].router_if}" ip daddr {HOSTS["prod-k8s"].v4()} '
            "tcp dport 6443 counter accept",
        ]
    refuse_dev = (
        f'iifname {dev_ifs} log prefix "pwlab reject dev: " level info counter '
        "reject with icmpx type admin-prohibited"
    )
    body = "\n    ".join([*allowed, *holes, refuse_dev])
    return f"""
table inet {TABLE} {{
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related counter accept
    ct state invalid counter drop
    {body}
    iifname {test_ifs} log prefix "pwlab drop test: " level info counter drop
    log prefix "pwlab drop: " level info counter drop
  }}
  chain input {{
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    meta l4proto {{ icmp, ipv6-icmp }} accept
    udp dport 53 accept
    tcp dport 53 accept
    log prefix "pwlab input drop: " level info counter drop
  }}
}}
"""


FLEET_LEAK_ZONE = "dev3"


def _ifs(*tiers: str) -> str:
    """The router's interfaces into every zone of these tiers, as an nftables set."""
    names = ", ".join(f'"{z.router_if}"' for t in tiers for z in ZONES.values() if z.tier == t)
    return f"{{ {names} }}"


__all__ = ["BYPASS_V4", "TABLE", "ruleset"]
