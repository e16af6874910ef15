"""What the configuration proof reads, per account and region, through the audit roles:
the network (VPCs, route tables, peering, transit gateways, endpoint services, security
groups, network ACLs, RAM shares) in every account; resource and trust policies in the
production accounts; stored strings in the non-production accounts only (values are read
there, scanned in memory, and dropped)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from prodwall.families.cloud.audit import NO_POLICY, Auditor

Text = tuple[str, str, str]  # (ARN, the call that read it, the text)


@dataclass
class RegionFacts:
    account: str
    region: str
    vpcs: list[dict[str, Any]] = field(default_factory=list)
    route_tables: list[dict[str, Any]] = field(default_factory=list)
    peerings: list[dict[str, Any]] = field(default_factory=list)
    tgw_attachments: list[dict[str, Any]] = field(default_factory=list)
    tgw_tables: list[dict[str, Any]] = field(default_factory=list)  # + Associations, Propagations
    endpoint_services: list[dict[str, Any]] = field(default_factory=list)  # + AllowedPrincipals
    endpoint_connections: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    nacls: list[dict[str, Any]] = field(default_factory=list)
    ram_shares: list[dict[str, Any]] = field(default_factory=list)  # + Principals
    policies: list[Text] = field(default_factory=list)  # KMS, Secrets Manager, SNS, SQS
    strings: list[Text] = field(default_factory=list)


@dataclass
class AccountFacts:
    account: str
    roles: list[Text] = field(default_factory=list)  # trust policies
    buckets: list[Text] = field(default_factory=list)  # bucket policies
    regions: dict[str, RegionFacts] = field(default_factory=dict)


def read_network(a: Auditor, f: RegionFacts) -> None:
    acct, reg = f.account, f.region

    def ec2(op: str, key: str, **kw: Any) -> list[Any]:
        return a.call(acct, reg, "ec2", op, key, **kw) or []

    f.vpcs = ec2("describe_vpcs", "Vpcs")
    f.route_tables = ec2("describe_route_tables", "RouteTables")
    f.peerings = ec2("describe_vpc_peering_connections", "VpcPeeringConnections")
    f.tgw_attachments = ec2("describe_transit_gateway_attachments", "TransitGatewayAttachments")
    for table in ec2("describe_transit_gateway_route_tables", "TransitGatewayRouteTables"):
        rid = table["TransitGatewayRouteTableId"]
        table = {**table,
                 "Associations": ec2("get_transit_gateway_route_table_associations",
                                     "Associations", TransitGatewayRouteTableId=rid),
                 "Propagations": ec2("get_transit_gateway_route_table_propagations",
                                     "TransitGatewayRouteTablePropagations",
                                     TransitGatewayRouteTableId=rid),
                 "Routes": ec2("search_transit_gateway_routes", "Routes",
                               TransitGatewayRouteTableId=rid,
                               Filters=[{"Name": "type", "Values": ["static", "propagated"]}])}
        f.tgw_tables.append(table)
    for service in ec2("describe_vpc_endpoint_service_configurations", "ServiceConfigurations"):
        allowed = ec2("describe_vpc_endpoint_service_permissions", "AllowedPrincipals",
                      ServiceId=service["ServiceId"])
        f.endpoint_services.append({**service, "AllowedPrincipals": allowed})
    f.endpoint_connections = ec2("describe_vpc_endpoint_connections", "VpcEndpointConnections")
    f.security_groups = ec2("describe_security_groups", "SecurityGroups")
    f.nacls = ec2("describe_network_acls", "NetworkAcls")
    shares = a.call(acct, reg, "ram", "get_resource_shares", "resourceShares",
                    resourceOwner="SELF") or []
    for share in shares:
        if share.get("status") not in (None, "ACTIVE", "PENDING"):
            continue
        links = a.call(acct, reg, "ram", "get_resource_share_associations",
                       "resourceShareAssociations", associationType="PRINCIPAL",
                       resourceShareArns=[share["resourceShareArn"]]) or []
        f.ram_shares.append({**share, "Principals": [
            x.get("associatedEntity", "") for x in links
            if x.get("status") in (None, "ASSOCIATED", "ASSOCIATING")]})


def read_policies(a: Auditor, f: RegionFacts) -> None:
    """Resource policies of a production account's regional services."""
    acct, reg = f.account, f.region
    for key in a.call(acct, reg, "kms", "list_keys", "Keys") or []:
        got = a.one(acct, reg, "kms", "get_key_policy", KeyId=key["KeyId"], PolicyName="default")
        if got is not None:
            f.policies.append((key.get("KeyArn", key["KeyId"]), "kms:GetKeyPolicy",
                               str(got.get("Policy", ""))))
    for secret in a.call(acct, reg, "secretsmanager", "list_secrets", "SecretList") or []:
        got = a.one(acct, reg, "secretsmanager", "get_resource_policy", SecretId=secret["ARN"])
        if got is not None:
            f.policies.append((secret["ARN"], "secretsmanager:GetResourcePolicy",
                               str(got.get("ResourcePolicy") or "")))
    for topic in a.call(acct, reg, "sns", "list_topics", "Topics") or []:
        arn = topic["TopicArn"]
        got = a.one(acct, reg, "sns", "get_topic_attributes", TopicArn=arn)
        if got is not None:
            f.policies.append((arn, "sns:GetTopicAttributes",
                               str(got.get("Attributes", {}).get("Policy", ""))))
    for url in a.call(acct, reg, "sqs", "list_queues", "QueueUrls") or []:
        got = a.one(acct, reg, "sqs", "get_queue_attributes", QueueUrl=url,
                    AttributeNames=["Policy", "QueueArn"])
        if got is not None:
            attrs = got.get("Attributes", {})
            f.policies.append((attrs.get("QueueArn", url), "sqs:GetQueueAttributes",
                               str(attrs.get("Policy", ""))))


def read_global(a: Auditor, facts: AccountFacts, region: str, production: bool) -> None:
    """IAM roles' trust policies and S3 bucket policies (global services: read once)."""
    if not production:
        return
    acct = facts.account
    for role in a.call(acct, region, "iam", "list_roles", "Roles") or []:
        doc = role.get("AssumeRolePolicyDocument", "")
        facts.roles.append((role["Arn"], "iam:ListRoles",
                            doc if isinstance(doc, str) else json.dumps(doc)))
    for bucket in a.call(acct, region, "s3", "list_buckets", "Buckets") or []:
        name = bucket["Name"]
        got = a.one(acct, region, "s3", "get_bucket_policy", NO_POLICY, Bucket=name)
        if got is not None:
            facts.buckets.append((f"arn:aws:s3:::{name}", "s3:GetBucketPolicy",
                                  str(got.get("Policy", ""))))


def read_strings(a: Auditor, f: RegionFacts) -> None:
    """Stored strings of a non-production account, values included (scanned, dropped)."""
    acct, reg = f.account, f.region
    names = [p["Name"] for p in a.call(acct, reg, "ssm", "describe_parameters", "Parameters")
             or []]
    for start in range(0, len(names), 10):
        for p in a.call(acct, reg, "ssm", "get_parameters", "Parameters",
                        Names=names[start:start + 10], WithDecryption=True) or []:
            f.strings.append((p.get("ARN", p["Name"]), "ssm:GetParameters",
                              f"{p['Name']}={p.get('Value', '')}"))
    for secret in a.call(acct, reg, "secretsmanager", "list_secrets", "SecretList") or []:
        got = a.one(acct, reg, "secretsmanager", "get_secret_value", SecretId=secret["ARN"])
        if got is not None:
            f.strings.append((secret["ARN"], "secretsmanager:GetSecretValue",
                              str(got.get("SecretString") or "")))
    for fn in a.call(acct, reg, "lambda", "list_functions", "Functions") or []:
        env = (fn.get("Environment") or {}).get("Variables") or {}
        f.strings.append((fn["FunctionArn"], "lambda:ListFunctions",
                          "\n".join(f"{k}={v}" for k, v in env.items())))
    for arn in a.call(acct, reg, "ecs", "list_task_definitions", "taskDefinitionArns") or []:
        got = a.one(acct, reg, "ecs", "describe_task_definition", taskDefinition=arn)
        if got is None:
            continue
        lines = []
        for c in got.get("taskDefinition", {}).get("containerDefinitions", []):
            lines += [f"{e.get('name')}={e.get('value', '')}" for e in c.get("environment", [])]
            lines += [f"{s.get('name')}={s.get('valueFrom', '')}" for s in c.get("secrets", [])]
        f.strings.append((arn, "ecs:DescribeTaskDefinition", "\n".join(lines)))
    for reservation in a.call(acct, reg, "ec2", "describe_instances", "Reservations") or []:
        for instance in reservation.get("Instances", []):
            iid = instance["InstanceId"]
            got = a.one(acct, reg, "ec2", "describe_instance_attribute", InstanceId=iid,
                        Attribute="userData")
            raw = ((got or {}).get("UserData") or {}).get("Value", "")
            if raw:
                text = base64.b64decode(raw).decode("utf-8", "replace")
                f.strings.append((f"arn:aws:ec2:{reg}:{acct}:instance/{iid}",
                                  "ec2:DescribeInstanceAttribute(userData)", text))
