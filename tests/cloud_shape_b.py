"""A second, differently shaped AWS estate: a shared network account (a hub) owns a
transit gateway and both spoke VPCs, placed by their CIDRs alone; production shares,
grants and admits through every other kind of leak the configuration proof reads.
No IAM enforcement (the audit reads only), three accounts, any regions."""

from __future__ import annotations

import io
import json
import zipfile

from prodwall.lab import cloud_estate as lab

PROD, TEST, HUB = "555566667777", "666677778888", "777788889999"
ORG = "o-pwlabshapeb01"
PROD_NET, TEST_NET = "198.19.40.0/24", "198.18.40.0/24"

INVENTORY = """\
version: 1
name: moto-shape-b
environments:
  prod:
    tier: production
    networks: ["{prod_net}"]
    dns_domains: [prod.shape-b.test]
    hosts:
      ledger-db: {{addresses: [198.19.40.10], names: [ledger.prod.shape-b.test]}}
    cloud:
      aws_accounts: ["{prod}"]
  test:
    tier: test
    networks: ["{test_net}"]
    cloud:
      aws_accounts: ["{test}"]
  network:
    tier: shared
    cloud:
      aws_accounts: ["{hub}"]
aws:
  regions: {regions}
  audit_role: prodwall-audit
  organization_id: {org}
  endpoint_url: "{url}"
  simulated: true
  concurrency: 8
"""


def inventory(url: str, regions: list[str]) -> str:
    return INVENTORY.format(prod=PROD, test=TEST, hub=HUB, prod_net=PROD_NET,
                            test_net=TEST_NET, org=ORG, url=url, regions=json.dumps(regions))


def build(url: str, leaky: bool, regions: tuple[str, ...] = ("us-east-1",)) -> None:
    seeds = {a: lab.seed_keys(a) for a in (PROD, TEST, HUB)}
    lab.audit_roles(url, seeds)
    for region in regions:
        _hub(url, seeds[HUB], region, leaky)
        _production(url, seeds[PROD], seeds[TEST], region, leaky)
        _test(url, seeds[TEST], region, leaky)


def _hub(url: str, keys: lab.Keys, region: str, leaky: bool) -> None:
    ec2 = lab.client(url, keys, "ec2", region)
    gw = ec2.create_transit_gateway(Description="hub")["TransitGateway"]["TransitGatewayId"]
    attachments = {}
    for name, cidr in (("prod", PROD_NET), ("test", TEST_NET)):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        sub = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        attachments[name] = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=gw, VpcId=vpc, SubnetIds=[sub]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    tables = {n: ec2.create_transit_gateway_route_table(TransitGatewayId=gw)[
        "TransitGatewayRouteTable"]["TransitGatewayRouteTableId"] for n in ("prod", "test")}
    for name, attachment in attachments.items():
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=tables[name], TransitGatewayAttachmentId=attachment)
        ec2.enable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=tables[name], TransitGatewayAttachmentId=attachment)
    if leaky:  # planted: production's routes propagate into the table test is associated with
        ec2.enable_transit_gateway_route_table_propagation(
            TransitGatewayRouteTableId=tables["test"],
            TransitGatewayAttachmentId=attachments["prod"])


def _production(url: str, keys: lab.Keys, test_keys: lab.Keys, region: str,
                leaky: bool) -> None:
    ec2 = lab.client(url, keys, "ec2", region)
    vpc = ec2.create_vpc(CidrBlock="198.19.41.0/24")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="198.19.41.0/25")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="ledger", Description="ledger",
                                   VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])  # world-open: not a grant to test as such
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=90, Protocol="6",
                                 RuleAction="deny", Egress=False, CidrBlock=TEST_NET,
                                 PortRange={"From": 0, "To": 65535})
    kms = lab.client(url, keys, "kms", region)
    sqs = lab.client(url, keys, "sqs", region)
    sm = lab.client(url, keys, "secretsmanager", region)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    queue = sqs.create_queue(QueueName="settlements")["QueueUrl"]
    secret = sm.create_secret(Name="ledger/api", SecretString="x")["ARN"]
    sm.put_resource_policy(SecretId=secret, ResourcePolicy=lab.policy(
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
         "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": PROD}}}))
    if not leaky:
        return
    # planted: a network ACL rule admitting the test network (before the deny)
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=80, Protocol="6",
                                 RuleAction="allow", Egress=False, CidrBlock=TEST_NET,
                                 PortRange={"From": 5432, "To": 5432})
    # planted: a security group rule referencing a test account's group (moto cannot be
    # asked for a cross-account reference: planted in its backend)
    from moto.ec2.models import ec2_backends

    test_group = lab.client(url, test_keys, "ec2", region).describe_security_groups()[
        "SecurityGroups"][0]["GroupId"]
    backend = ec2_backends[PROD][region]
    pair = {"GroupId": sg, "UserId": TEST}  # moto looks the group up in its own account
    backend.authorize_security_group_ingress(
        group_name_or_id=sg, ip_protocol="tcp", from_port="5432", to_port="5432",
        ip_ranges=[], source_groups=[pair], vpc_id=vpc)
    pair["GroupId"] = test_group  # ...so the reference is pointed across afterwards
    # planted: an endpoint service (PrivateLink) allowing the test account
    elb = lab.client(url, keys, "elbv2", region)
    nlb = elb.create_load_balancer(Name="ledger-nlb", Subnets=[sub], Type="network")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    service = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb])["ServiceConfiguration"]["ServiceId"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=service, AddAllowedPrincipals=[f"arn:aws:iam::{TEST}:root"])
    # planted: a RAM share of a production subnet with the test account
    lab.client(url, keys, "ram", region).create_resource_share(
        name="ledger-subnet", principals=[TEST],
        resourceArns=[f"arn:aws:ec2:{region}:{PROD}:subnet/{sub}"])
    # planted: a key policy granting the test account, a queue open to everyone, a secret
    # granted to the whole organization (the test account is in it)
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=lab.policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TEST}:root"},
         "Action": "kms:Decrypt", "Resource": "*"}))
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": lab.policy(
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"})})
    sm.put_resource_policy(SecretId=secret, ResourcePolicy=lab.policy(
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
         "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}))


def _test(url: str, keys: lab.Keys, region: str, leaky: bool) -> None:
    target = "ledger.prod.shape-b.test" if leaky else "ledger.test.shape-b.test"
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("h.py", "def h(e, c):\n    return None\n")
    role = lab.client(url, keys, "iam", region).create_role(
        RoleName=f"fn-{region}", AssumeRolePolicyDocument=lab.policy(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
             "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    # planted (leaky): a Lambda wired to the production database
    lab.client(url, keys, "lambda", region).create_function(
        FunctionName="settle", Runtime="python3.12", Role=role, Handler="h.h",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"DATABASE_URL": f"mysql://app:s3cr3t-{region}@{target}/db"}})
    secret_from = (f"arn:aws:secretsmanager:{region}:{PROD}:secret:ledger/api" if leaky
                   else f"arn:aws:secretsmanager:{region}:{TEST}:secret:ledger/api")
    # planted (leaky): an ECS task taking its secret from the production account
    lab.client(url, keys, "ecs", region).register_task_definition(
        family="settle", containerDefinitions=[{
            "name": "app", "image": "app:1", "memory": 128,
            "secrets": [{"name": "API_KEY", "valueFrom": secret_from}]}])
    ec2 = lab.client(url, keys, "ec2", region)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    user_data = f"#!/bin/sh\nexport LEDGER=postgres://{target}:5432/ledger\n"
    # planted (leaky): EC2 user data pointing at production
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                      UserData=user_data)
