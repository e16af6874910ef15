"""Does a host's live firewall drop every new flow it would send to a production
network? Read from the ruleset the kernel holds (nft's JSON, or iptables-save and
ip6tables-save), for each production network as a whole.

Each rule's match is asked three-valued against the network: it matches all of it,
none of it, or some (part of the network, some ports, some interfaces, a set or
module it cannot read). The network is dropped only when every output base chain
that sees it reaches a drop or reject that matches all of it before any accept that
could match some of it; a conditional drop guarantees nothing and a conditional
accept is a hole. Rules for established or related flows admit no new flow. A chain
that cannot be followed answers "unknown", never "dropped"."""

from prodwall.families.hosts.egress.iptables import from_iptables
from prodwall.families.hosts.egress.model import Chain, Outcome, Rule, Tri, judge
from prodwall.families.hosts.egress.nft import NEW_FLOW_STATES, from_nft

__all__ = [
    "NEW_FLOW_STATES", "Chain", "Outcome", "Rule", "Tri", "from_iptables", "from_nft", "judge",
]  # fmt: skip
