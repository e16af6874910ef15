"""Network paths between production and non-production VPCs, from what the audit roles
read: peering, routes, transit gateway route tables, endpoint services and their
connections, security groups, network ACLs and RAM shares. A VPC is production when a
production account owns it or its CIDR lies in a production network of the inventory
(a shared network account's VPCs are placed by their CIDRs); non-production likewise.

Rules open to the whole world (a /0 route to an internet gateway, the default network
ACL entry) are not a path *between* the environments and are not findings here; a /0
route into a peering connection or a transit gateway is."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prodwall.families.cloud.estate import RegionFacts
from prodwall.families.cloud.findings import NETWORK, Seen
from prodwall.verdicts import Signal

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Sides:
    """What the inventory says production and non-production are."""

    prod_accounts: dict[str, str]  # account -> environment
    nonprod_accounts: dict[str, str]
    prod_networks: dict[Net, tuple[str, ...]]  # network -> the accounts judged for it
    nonprod_networks: tuple[Net, ...]
    org_id: str | None = None


class Placer:
    def __init__(self, sides: Sides, facts: Iterable[RegionFacts]) -> None:
        self.sides = sides
        self.vpcs: dict[str, tuple[str, tuple[Net, ...]]] = {}  # id -> (owner, CIDRs)
        for f in facts:
            for vpc in f.vpcs:
                self.vpcs[vpc["VpcId"]] = (vpc.get("OwnerId", f.account), _vpc_cidrs(vpc))
        self.nonprod_cidrs = tuple(sides.nonprod_networks) + tuple(
            c for vid in self.vpcs for c in self.vpcs[vid][1] if self.is_nonprod(vid))

    def prod_accounts(self, owner: str, cidrs: Iterable[Net]) -> tuple[str, ...]:
        if owner in self.sides.prod_accounts:
            return (owner,)
        found: list[str] = []
        for c in cidrs:
            for net, accounts in self.sides.prod_networks.items():
                if _overlaps(c, net):
                    found += [a for a in accounts if a not in found]
        return tuple(found)

    def of_vpc(self, vpc_id: str) -> tuple[str, ...]:
        owner, cidrs = self.vpcs.get(vpc_id, ("", ()))
        return self.prod_accounts(owner, cidrs)

    def is_nonprod(self, vpc_id: str) -> bool:
        owner, cidrs = self.vpcs.get(vpc_id, ("", ()))
        if self.prod_accounts(owner, cidrs):
            return False
        return owner in self.sides.nonprod_accounts or any(
            _overlaps(c, n) for c in cidrs for n in self.sides.nonprod_networks)

    def nonprod_overlap(self, cidr: Net) -> Net | None:
        return next((n for n in self.nonprod_cidrs if _overlaps(cidr, n)), None)

    def prod_overlap(self, cidr: Net) -> tuple[str, ...]:
        """The production accounts whose networks or VPCs `cidr` reaches into, once each."""
        found = [a for net, accounts in self.sides.prod_networks.items()
                 if _overlaps(cidr, net) for a in accounts]
        found += [a for vid, (_, cidrs) in self.vpcs.items() for a in self.of_vpc(vid)
                  if any(_overlaps(cidr, c) for c in cidrs)]
        return tuple(dict.fromkeys(found))


def find(sides: Sides, facts: list[RegionFacts]) -> Iterator[Seen]:
    place = Placer(sides, facts)
    for f in facts:
        yield from _peerings(place, f)
        yield from _routes(place, f)
        yield from _transit(place, f)
        yield from _endpoints(place, f)
        yield from _security_groups(place, f)
        yield from _nacls(place, f)
        yield from _shares(place, f)


def _seen(account: str, f: RegionFacts, detail: str, arn: str, call: str) -> Seen:
    return Seen(NETWORK, account, Signal.CROSSED, detail, f.region, arn, call)


def _arn(f: RegionFacts, kind: str, rid: str) -> str:
    return f"arn:aws:ec2:{f.region}:{f.account}:{kind}/{rid}"


def _peerings(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    for p in f.peerings:
        if p.get("Status", {}).get("Code") not in ("active", "provisioning"):
            continue
        ends = [p.get("RequesterVpcInfo", {}), p.get("AccepterVpcInfo", {})]
        sides = []
        for end in ends:
            cidrs = tuple(_net(c["CidrBlock"]) for c in end.get("CidrBlockSet", [])) or (
                (_net(end["CidrBlock"]),) if end.get("CidrBlock") else ())
            place.vpcs.setdefault(end.get("VpcId", ""), (end.get("OwnerId", ""), cidrs))
            sides.append(end.get("VpcId", ""))
        for prod_end, other in ((sides[0], sides[1]), (sides[1], sides[0])):
            if place.is_nonprod(other):
                for account in place.of_vpc(prod_end):
                    yield _seen(account, f, f"VPC peering {p['VpcPeeringConnectionId']} joins "
                                f"production {prod_end} and non-production {other}",
                                _arn(f, "vpc-peering-connection", p["VpcPeeringConnectionId"]),
                                "ec2:DescribeVpcPeeringConnections")


def _routes(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    for table in f.route_tables:
        vpc = table.get("VpcId", "")
        for route in table.get("Routes", []):
            dest = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
            via = _target(route)
            if not dest or via in ("", "local") or route.get("State") == "blackhole":
                continue
            cidr = _net(dest)
            bridged = via.startswith(("pcx-", "tgw-"))
            if cidr.prefixlen == 0 and not bridged:
                continue  # the internet default route: not a path between environments
            accounts = place.of_vpc(vpc)
            if accounts and place.nonprod_overlap(cidr) is not None:
                what = f"production {vpc} routes {dest} (non-production) to {via}"
            elif place.is_nonprod(vpc) and (accounts := place.prod_overlap(cidr)):
                what = f"non-production {vpc} routes {dest} (production) to {via}"
            else:
                continue
            for account in accounts:
                yield _seen(account, f, f"route table {table['RouteTableId']}: {what}",
                            _arn(f, "route-table", table["RouteTableId"]),
                            "ec2:DescribeRouteTables")


def _target(route: dict[str, Any]) -> str:
    for key in ("VpcPeeringConnectionId", "TransitGatewayId", "GatewayId", "NatGatewayId",
                "NetworkInterfaceId", "InstanceId", "LocalGatewayId", "CarrierGatewayId",
                "CoreNetworkArn"):
        if route.get(key):
            return str(route[key])
    return ""


def _transit(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    attached = {a["TransitGatewayAttachmentId"]: a.get("ResourceId", "")
                for a in f.tgw_attachments}
    for table in f.tgw_tables:
        rid = table["TransitGatewayRouteTableId"]
        sources = [attached.get(x["TransitGatewayAttachmentId"], x.get("ResourceId", ""))
                   for x in table.get("Associations", [])]
        reached = [attached.get(x["TransitGatewayAttachmentId"], x.get("ResourceId", ""))
                   for x in table.get("Propagations", [])]
        for route in table.get("Routes", []):
            for x in route.get("TransitGatewayAttachments", []):
                reached.append(x.get("ResourceId", ""))
        pairs = [(s, r) for s in sources for r in reached if s != r]
        for src, dst in pairs:
            prod, other = (dst, src) if place.of_vpc(dst) else (src, dst)
            if place.of_vpc(prod) and place.is_nonprod(other):
                for account in place.of_vpc(prod):
                    yield _seen(account, f, f"transit gateway route table {rid} carries "
                                f"{src} to {dst} (production {prod}, non-production {other})",
                                _arn(f, "transit-gateway-route-table", rid),
                                "ec2:GetTransitGatewayRouteTablePropagations")
                break


def _endpoints(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    prod = f.account in place.sides.prod_accounts
    for service in f.endpoint_services if prod else []:
        for principal in service.get("AllowedPrincipals", []):
            who = str(principal.get("Principal", ""))
            account = who.split(":")[4] if who.count(":") >= 5 else who
            if who == "*" or account in place.sides.nonprod_accounts:
                yield _seen(f.account, f, f"endpoint service {service['ServiceId']} allows "
                            f"{who}", _arn(f, "vpc-endpoint-service", service["ServiceId"]),
                            "ec2:DescribeVpcEndpointServicePermissions")
    for conn in f.endpoint_connections if prod else []:
        if conn.get("VpcEndpointOwner") in place.sides.nonprod_accounts and conn.get(
                "VpcEndpointState") in ("available", "pendingAcceptance", "pending"):
            yield _seen(f.account, f, f"endpoint service {conn.get('ServiceId')} has a "
                        f"connection from account {conn['VpcEndpointOwner']}",
                        _arn(f, "vpc-endpoint-service", str(conn.get("ServiceId"))),
                        "ec2:DescribeVpcEndpointConnections")


def _security_groups(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    nonprod_groups = {g["GroupId"] for x in [f] for g in x.security_groups
                      if place.is_nonprod(g.get("VpcId", ""))}
    for group in f.security_groups:
        accounts = place.of_vpc(group.get("VpcId", ""))
        for rule in group.get("IpPermissions", []) if accounts else []:
            hits = [r["CidrIp"] for r in rule.get("IpRanges", []) if _specific(place, r["CidrIp"])]
            hits += [r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])
                     if _specific(place, r["CidrIpv6"])]
            hits += [f"{p.get('UserId')}/{p.get('GroupId')}" for p in rule.get(
                "UserIdGroupPairs", []) if p.get("UserId") in place.sides.nonprod_accounts
                or p.get("GroupId") in nonprod_groups]
            for hit in hits:
                ports = _ports(rule)
                for account in accounts:
                    yield _seen(account, f, f"security group {group['GroupId']} admits "
                                f"non-production {hit} on {ports}",
                                _arn(f, "security-group", group["GroupId"]),
                                "ec2:DescribeSecurityGroups")


def _nacls(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    for acl in f.nacls:
        accounts = place.of_vpc(acl.get("VpcId", ""))
        if not accounts:
            continue
        entries = sorted((e for e in acl.get("Entries", []) if not e.get("Egress")),
                         key=lambda e: int(e.get("RuleNumber", 32767)))
        for nonprod in place.nonprod_cidrs:
            for e in entries:
                cidr = e.get("CidrBlock") or e.get("Ipv6CidrBlock")
                if not cidr or not _overlaps(_net(cidr), nonprod):
                    continue
                if e.get("RuleAction") == "allow" and _net(cidr).prefixlen > 0:
                    for account in accounts:
                        yield _seen(account, f, f"network ACL {acl['NetworkAclId']} rule "
                                    f"{e.get('RuleNumber')} allows {cidr} (non-production "
                                    f"{nonprod}) in", _arn(f, "network-acl", acl["NetworkAclId"]),
                                    "ec2:DescribeNetworkAcls")
                break


def _shares(place: Placer, f: RegionFacts) -> Iterator[Seen]:
    if f.account not in place.sides.prod_accounts:
        return
    for share in f.ram_shares:
        for who in share.get("Principals", []):
            account = who.split(":")[4] if who.count(":") >= 5 else who
            org = place.sides.org_id and place.sides.org_id in who
            if account in place.sides.nonprod_accounts or org:
                yield _seen(f.account, f, f"RAM share {share.get('name')} shares production "
                            f"resources with {who}", str(share["resourceShareArn"]),
                            "ram:GetResourceShareAssociations")


def _specific(place: Placer, cidr: str) -> bool:
    net = _net(cidr)
    return net.prefixlen > 0 and place.nonprod_overlap(net) is not None


def _ports(rule: dict[str, Any]) -> str:
    proto = str(rule.get("IpProtocol", "-1"))
    if proto == "-1":
        return "every protocol"
    low, high = rule.get("FromPort"), rule.get("ToPort")
    return f"{proto}/{low}" if low == high else f"{proto}/{low}-{high}"


def _vpc_cidrs(vpc: dict[str, Any]) -> tuple[Net, ...]:
    out = [_net(a["CidrBlock"]) for a in vpc.get("CidrBlockAssociationSet", [])
           if a.get("CidrBlock")]
    out += [_net(a["Ipv6CidrBlock"]) for a in vpc.get("Ipv6CidrBlockAssociationSet", [])
            if a.get("Ipv6CidrBlock")]
    if not out and vpc.get("CidrBlock"):
        out.append(_net(vpc["CidrBlock"]))
    return tuple(out)


def _net(text: str) -> Net:
    return ipaddress.ip_network(text, strict=False)


def _overlaps(a: Net, b: Net) -> bool:
    return a.version == b.version and a.overlaps(b)
