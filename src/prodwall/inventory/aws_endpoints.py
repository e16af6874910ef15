"""Which endpoint URLs are AWS's own service endpoints.

`*.amazonaws.com` is not enough: customers control names under it (EC2 public DNS
`ec2-1-2-3-4.compute-1.amazonaws.com`, API Gateway `ID.execute-api.REGION.amazonaws.com`,
S3 buckets and website endpoints, Elastic Beanstalk, ELB). The runner signs every call
with its own key and session token, so only the service endpoints of the APIs prodwall
calls, in AWS's documented forms (regional, FIPS, dual-stack, the global IAM/STS names)
and in the official partitions, over https on 443, are accepted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# the APIs the cloud family calls (read-only)
SERVICES = frozenset(
    {"sts", "iam", "ec2", "s3", "organizations", "ram", "kms", "lambda", "ecr", "events",
     "secretsmanager", "ssm", "codebuild", "rds", "sqs", "elasticloadbalancing"}
)  # fmt: skip
# aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc
_SUFFIXES = (
    r"amazonaws\.com", r"amazonaws\.com\.cn", r"api\.aws", r"api\.amazonwebservices\.com\.cn",
    r"c2s\.ic\.gov", r"sc2s\.sgov\.gov", r"cloud\.adc-e\.uk", r"csp\.hci\.ic\.gov",
    r"amazonaws\.eu",
)  # fmt: skip
_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?|-isob)?-[a-z]+-\d{1,2}"
_REGIONAL = re.compile(
    rf"^(?P<svc>[a-z0-9]+)(?:-fips)?(?:\.dualstack)?\.(?P<region>{_REGION})"
    rf"\.(?:{'|'.join(_SUFFIXES)})$"
)
_GLOBAL = re.compile(
    r"^(?P<svc>iam|sts|organizations|s3)(?:-fips)?(?:\.(?:us-gov|cn-north-1|global))?"
    r"\.amazonaws\.com(?:\.cn)?$"
)


def aws_endpoint_problem(url: str) -> str:
    """'' when `url` is an AWS service endpoint over https; else what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https":
        return "is not https (credentials are never sent in clear text)"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "carries a user, query or fragment"
    if parts.path not in ("", "/") or port not in (None, 443):
        return "has a path or a port of its own: AWS service endpoints have neither"
    host = (parts.hostname or "").lower().rstrip(".")
    found = _REGIONAL.match(host) or _GLOBAL.match(host)
    if found is None:
        return "is not an AWS service endpoint (a host customers can own under amazonaws.com?)"
    if found.group("svc") not in SERVICES:
        return f"is the endpoint of '{found.group('svc')}', not of an API prodwall calls"
    return ""
