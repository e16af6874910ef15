"""AWS on moto for the tests: a ThreadedMotoServer on 127.0.0.1 in this process, the
environment pointed at it (explicit fake credentials, no instance metadata, config and
credentials files of the test's own), and the inventories of the two estate shapes."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from prodwall.lab import cloud_estate as lab
from prodwall.lab.leaks import PROD_AWS_ACCOUNT, TEST_AWS_ACCOUNT

SHAPE_A = """\
version: 1
name: moto-shape-a
environments:
  prod:
    tier: production
    networks: [198.19.10.0/24]
    dns_domains: [prod.pwlab.test]
    hosts:
      prod-db: {{addresses: [198.19.10.10], names: [db.prod.pwlab.test]}}
    cloud:
      aws_accounts: ["{prod}"]
      role_arns: ["{role}"]
      buckets: [{bucket}]
      secrets: ["{secret}"]
      parameters: ["{parameter}"]
  test:
    tier: test
    networks: [198.18.2.0/24]
    dns_domains: [test.pwlab.test]
    hosts:
      test-ci: {{addresses: [198.18.2.10], names: [ci.test.pwlab.test]}}
    cloud:
      aws_accounts: ["{test}"]
vantages:
  here:
    location: local
    environment: test
aws:
  regions: [us-east-1]
  audit_role: {audit_role}
  endpoint_url: "{url}"
  simulated: true
  homes: ["{homes}/*"]
"""


def inventory_a(url: str, homes: Path) -> str:
    return SHAPE_A.format(prod=PROD_AWS_ACCOUNT, test=TEST_AWS_ACCOUNT, role=lab.PROD_ROLE,
                          bucket=lab.PROD_BUCKET, secret=lab.PROD_SECRET,
                          parameter=lab.PROD_PARAMETER, audit_role=lab.AUDIT_ROLE, url=url,
                          homes=homes)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset(url: str) -> None:
    """Every account's state gone, IAM enforcement off: the next estate starts clean."""
    import urllib.request

    for path, body in (("/moto-api/reset", b""), ("/moto-api/reset-auth", b"inf")):
        request = urllib.request.Request(url + path, data=body, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()


def aws_environment(url: str, tmp: Path, keys: lab.Keys | None = None) -> dict[str, str]:
    """The environment a process gets: the runner's audit key by default, files of its own."""
    keys = keys or lab.Keys(lab.AUDIT_KEY_ID, lab.AUDIT_SECRET)
    creds, config = tmp / "aws-credentials", tmp / "aws-config"
    creds.write_text(f"[default]\naws_access_key_id = {keys.key_id}\n"
                     f"aws_secret_access_key = {keys.secret}\n")
    config.write_text("[default]\nregion = us-east-1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=url, AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_CONFIG_FILE=str(config),
               AWS_DEFAULT_REGION="us-east-1")
    return env
