"""Network paths judged from synthetic reads: the shapes moto cannot plant (endpoint
connections, IPv6 rules, a default route into a transit gateway) and the ones that
must not count (world-open rules, an earlier deny, a blackhole), both directions."""

from __future__ import annotations

import ipaddress

from prodwall.families.cloud import paths
from prodwall.families.cloud.estate import RegionFacts
from prodwall.verdicts import Signal

PROD, TEST = "111122223333", "222233334444"
SIDES = paths.Sides(
    prod_accounts={PROD: "prod"},
    nonprod_accounts={TEST: "test"},
    prod_networks={ipaddress.ip_network("198.19.0.0/16"): (PROD,)},
    nonprod_networks=(ipaddress.ip_network("198.18.2.0/24"),
                      ipaddress.ip_network("fd00:18:2::/64")),
)


def _facts(account: str, **kw: object) -> RegionFacts:
    f = RegionFacts(account, "eu-west-1")
    for key, value in kw.items():
        setattr(f, key, value)
    return f


PROD_VPC = {"VpcId": "vpc-p", "OwnerId": PROD, "CidrBlock": "198.19.1.0/24"}
TEST_VPC = {"VpcId": "vpc-t", "OwnerId": TEST, "CidrBlock": "198.18.2.0/24"}


def _find(*facts: RegionFacts) -> list[str]:
    seen = list(paths.find(SIDES, list(facts)))
    assert all(s.signal is Signal.CROSSED and s.account == PROD for s in seen)
    return [s.detail for s in seen]


def test_an_endpoint_connection_from_a_test_account_is_a_path() -> None:
    prod = _facts(PROD, vpcs=[PROD_VPC], endpoint_connections=[
        {"ServiceId": "vpce-svc-1", "VpcEndpointOwner": TEST, "VpcEndpointState": "available"},
        {"ServiceId": "vpce-svc-1", "VpcEndpointOwner": PROD, "VpcEndpointState": "available"},
        {"ServiceId": "vpce-svc-2", "VpcEndpointOwner": TEST, "VpcEndpointState": "rejected"},
    ])
    found = _find(prod)
    assert found == ["endpoint service vpce-svc-1 has a connection from account " + TEST]


def test_ipv6_and_group_rules_admitting_test_are_paths_world_open_is_not() -> None:
    group = {"GroupId": "sg-p", "VpcId": "vpc-p", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
         "Ipv6Ranges": [{"CidrIpv6": "fd00:18:2::/64"}]},
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"UserId": TEST, "GroupId": "sg-t"}]},
    ]}
    found = _find(_facts(PROD, vpcs=[PROD_VPC], security_groups=[group]))
    assert found == [
        "security group sg-p admits non-production fd00:18:2::/64 on tcp/5432",
        f"security group sg-p admits non-production {TEST}/sg-t on every protocol",
    ]


def test_network_acls_first_match_wins() -> None:
    def acl(*entries: dict[str, object]) -> dict[str, object]:
        return {"NetworkAclId": "acl-1", "VpcId": "vpc-p", "Entries": list(entries)}

    deny_first = acl({"RuleNumber": 50, "RuleAction": "deny", "Egress": False,
                      "CidrBlock": "198.18.0.0/15"},
                     {"RuleNumber": 60, "RuleAction": "allow", "Egress": False,
                      "CidrBlock": "198.18.2.0/24"})
    allow_first = acl({"RuleNumber": 40, "RuleAction": "allow", "Egress": False,
                       "CidrBlock": "198.18.2.0/25"},
                      {"RuleNumber": 50, "RuleAction": "deny", "Egress": False,
                       "CidrBlock": "198.18.0.0/15"})
    default = acl({"RuleNumber": 100, "RuleAction": "allow", "Egress": False,
                   "CidrBlock": "0.0.0.0/0"})
    assert _find(_facts(PROD, vpcs=[PROD_VPC], nacls=[deny_first])) == []
    assert _find(_facts(PROD, vpcs=[PROD_VPC], nacls=[default])) == []
    assert len(_find(_facts(PROD, vpcs=[PROD_VPC], nacls=[allow_first]))) == 1


def test_routes_default_into_a_gateway_counts_internet_and_blackhole_do_not() -> None:
    table = {"RouteTableId": "rtb-t", "VpcId": "vpc-t", "Routes": [
        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"},
        {"DestinationCidrBlock": "198.19.1.0/24", "VpcPeeringConnectionId": "pcx-1",
         "State": "blackhole"},
        {"DestinationCidrBlock": "198.18.2.0/24", "GatewayId": "local", "State": "active"},
    ]}
    test = _facts(TEST, vpcs=[TEST_VPC], route_tables=[table])
    assert _find(_facts(PROD, vpcs=[PROD_VPC]), test) == []
    table["Routes"].append({"DestinationCidrBlock": "0.0.0.0/0", "TransitGatewayId": "tgw-1",
                            "State": "active"})
    found = _find(_facts(PROD, vpcs=[PROD_VPC]), test)
    assert found == ["route table rtb-t: non-production vpc-t routes 0.0.0.0/0 (production) "
                     "to tgw-1"]


def test_a_shared_accounts_vpcs_are_placed_by_their_cidrs() -> None:
    hub = "999900001111"
    vpcs = [{"VpcId": "vpc-a", "OwnerId": hub, "CidrBlock": "198.19.9.0/24"},
            {"VpcId": "vpc-b", "OwnerId": hub, "CidrBlock": "198.18.2.0/24"},
            {"VpcId": "vpc-c", "OwnerId": hub, "CidrBlock": "198.51.100.0/24"}]
    attachments = [{"TransitGatewayAttachmentId": f"att-{v[-1]}", "ResourceId": v}
                   for v in ("vpc-a", "vpc-b", "vpc-c")]
    table = {"TransitGatewayRouteTableId": "tgw-rtb-1",
             "Associations": [{"TransitGatewayAttachmentId": "att-c"}],
             "Propagations": [{"TransitGatewayAttachmentId": "att-a"}]}
    facts = _facts(hub, vpcs=vpcs, tgw_attachments=attachments, tgw_tables=[table])
    assert _find(facts) == []  # an unplaced VPC (neither side) reaching production: not test
    table["Associations"].append({"TransitGatewayAttachmentId": "att-b"})
    assert len(_find(facts)) == 1
