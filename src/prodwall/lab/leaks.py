"""What the lab plants: host files per profile, and the leaky profile's ground truth.

The secrets here are fake and lab-only; inventories/lab.yaml holds their
fingerprints under the lab's published fingerprint key, exactly as a real
inventory would hold a real secret's.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodwall.families.secrets.attribute import aws_key_id_for
from prodwall.lab import keys
from prodwall.lab.topology import AWS_PORT, HOSTS, SEGMENT_HOSTS, ZONES

FINGERPRINT_KEY = b"prodwall-lab-fingerprint-key-not-secret"
PROD_DB_PASSWORD = "pwlab-Prod-DB-2026!k9"
PROD_AWS_ACCOUNT, TEST_AWS_ACCOUNT = "111122223333", "222233334444"
# well-formed current-generation key ids: each decodes to its (made-up) account offline
PROD_AWS_KEY_ID = aws_key_id_for(PROD_AWS_ACCOUNT, b"pwlb1")
PROD_AWS_SECRET = "pwlabProdSecretKey0000000000000000000001"
DEV_AWS_KEY_ID = aws_key_id_for(TEST_AWS_ACCOUNT, b"pwlb2")
DEV_AWS_SECRET = "pwlabDevSecretKey00000000000000000000001"
DEVWS_AWS_ACCOUNT = "210987654321"  # the developers' account: dev-ws's own key is of it
DEVWS_AWS_KEY_ID = aws_key_id_for(DEVWS_AWS_ACCOUNT, b"pwlb4")
DEVWS_AWS_SECRET = "pwlabDevWsSecretKey000000000000000000001"
PROD_K8S = f"https://{HOSTS['prod-k8s'].fqdn()}:6443"


@dataclass(frozen=True)
class Leak:
    id: str
    family: str  # the probe family that must find it
    control: str  # the control it violates
    vantage: str  # lab.yaml vantage it is seen from
    group: str  # the check's target group: a production network, or the host
    description: str
    evidence: str = ""  # text one of the verdict's findings must hold (several leaks, one check)


PROD4, PROD6 = ZONES["prod"].v4, ZONES["prod"].v6

GROUND_TRUTH: tuple[Leak, ...] = (
    Leak(
        "tcp-hole",
        "network",
        "NET-TCP-01",
        "dev",
        PROD4,
        f"firewall accepts dev -> prod-db {HOSTS['prod-db'].v4()} tcp/5432",
    ),
    Leak(
        "udp-hole",
        "network",
        "NET-UDP-01",
        "test",
        PROD4,
        f"firewall accepts test -> prod-dns {HOSTS['prod-dns'].v4()} udp/53",
    ),
    Leak(
        "ipv6-path",
        "network",
        "NET-TCP-01",
        "dev",
        PROD6,
        f"IPv6 rule accepts dev -> {PROD6}: the IPv4 rules forgot IPv6",
    ),
    Leak(
        "route",
        "routes",
        "NET-ROUTE-01",
        "test",
        PROD4,
        "test has a direct link into prod and a route to prod-web over it, bypassing the "
        "router's firewall",
    ),
    Leak(
        "dns-leak",
        "dns",
        "DNS-NAME-01",
        "dev",
        ZONES["prod"].domain,
        "the dev resolver answers production names with production addresses",
    ),
    Leak(
        "connection-string",
        "secrets",
        "SEC-CONN-01",
        "dev-ssh",
        "files",
        "/srv/app/config/database.yml on dev-ws holds the prod database URL and password",
    ),
    Leak(
        "aws-key-store",
        "secrets",
        "SEC-CRED-01",
        "test-ssh",
        "stores",
        "a production AWS access key in test-ci's ~/.aws/credentials",
    ),
    Leak(
        "aws-key-env",
        "secrets",
        "SEC-CRED-01",
        "test-ssh",
        "processes",
        "the same key in test-ci's login environment (~/.ssh/environment)",
    ),
    Leak(
        "kube-context",
        "hosts",
        "HOST-KUBE-01",
        "dev-ssh",
        "kube",
        f"~/.kube/config on dev-ws has a context for the prod API server {PROD_K8S}",
    ),
    Leak(
        "ssh-trust",
        "hosts",
        "HOST-SSH-01",
        "dev-ssh",
        "ssh",
        "~/.ssh/config and known_hosts on dev-ws open prod-db",
    ),
    Leak(
        "etc-hosts",
        "hosts",
        "HOST-ETCHOSTS-01",
        "test-ssh",
        "name-resolution",
        "/etc/hosts on test-ci maps a production name to a production address",
    ),
    # prod-db, checked by a read-only auditor across the lab's Ansible inventory
    Leak(
        "prod-banner",
        "hosts",
        "HOST-BANNER-01",
        "fleet",
        "banner",
        "prod-db shows no production prompt and no login banner",
    ),
    Leak(
        "prod-privilege",
        "hosts",
        "HOST-PRIV-01",
        "fleet",
        "privilege",
        "prod-db lets root log in with a password and gives developers sudo ALL",
    ),
    Leak(
        "prod-break-glass",
        "hosts",
        "HOST-BREAKGLASS-01",
        "fleet",
        "break-glass",
        "prod-db's break-glass account is open with no incident",
    ),
    Leak("prod-audit", "hosts", "HOST-AUDIT-01", "fleet", "audit", "prod-db runs no audit daemon"),
    Leak(
        "prod-integrity",
        "hosts",
        "HOST-FIM-01",
        "fleet",
        "integrity",
        "prod-db has AIDE installed but its database never initialised",
    ),
    Leak(
        "prod-logs",
        "hosts",
        "HOST-LOGS-01",
        "fleet",
        "logs",
        "prod-db's app log holds a card number and the production database password",
    ),
    # AWS (the lab's moto estate): test-ci's key, then the estate read by the audit roles
    Leak(
        "aws-identity",
        "cloud",
        "CLOUD-IDENT-01",
        "test-ssh",
        PROD_AWS_ACCOUNT,
        "test-ci's ambient AWS identity is a user of the production account",
    ),
    Leak(
        "aws-live-access",
        "cloud",
        "CLOUD-DENY-01",
        "test-ssh",
        PROD_AWS_ACCOUNT,
        "with it, test-ci reads the production bucket, secret and parameter",
    ),
    Leak(
        "aws-cross-account-trust",
        "cloud",
        "CLOUD-TRUST-01",
        "cloud",
        PROD_AWS_ACCOUNT,
        "the production deploy role trusts the test account",
        "role/prod-deploy",
    ),
    Leak(
        "aws-bucket-policy",
        "cloud",
        "CLOUD-TRUST-01",
        "cloud",
        PROD_AWS_ACCOUNT,
        "the production ledger bucket's policy grants the test account",
        "pwlab-prod-ledger",
    ),
    Leak(
        "aws-peering-route",
        "cloud",
        "CLOUD-NET-01",
        "cloud",
        PROD_AWS_ACCOUNT,
        "a VPC peering and a test route into the production VPC",
        "to pcx-",
    ),
    Leak(
        "aws-prod-string",
        "cloud",
        "CLOUD-STRINGS-01",
        "cloud",
        TEST_AWS_ACCOUNT,
        "a test account SSM parameter holds the production database URL",
        "/test/app/database_url",
    ),
)

# The fleet's own planted leak (leaky profile): seen only from that segment's host, by
# `prodwall fleet` with inventories/lab-fleet.yaml; the suite's vantages never stand there.
FLEET_GROUND_TRUTH: tuple[Leak, ...] = (
    Leak(
        "fleet-segment-hole",
        "network",
        "NET-TCP-01",
        "dev3-ws",
        PROD4,
        f"firewall accepts the dev3 segment -> prod-k8s {HOSTS['prod-k8s'].v4()} tcp/6443",
        evidence=f"{HOSTS['prod-k8s'].v4()} tcp/6443",
    ),
)


def host_files(host: str, profile: str) -> dict[str, str]:
    """Files of a host's own filesystem view: path (/root/..., /srv/..., /etc/...) -> text."""
    db, dev = HOSTS["prod-db"], HOSTS["dev-ws"]
    leaky = profile == "leaky"
    files: dict[str, str] = {}
    if host == "dev-ws":
        db_url = (
            f"postgres://payments:{PROD_DB_PASSWORD}@{db.fqdn()}:5432/payments"
            if leaky
            else f"postgres://payments:devpass@{dev.fqdn()}:5432/payments_dev"
        )
        files["/srv/app/config/database.yml"] = f"production:\n  url: {db_url}\n"
        server = PROD_K8S if leaky else f"https://{dev.v4()}:6443"
        files["/root/.kube/config"] = _kubeconfig("prod" if leaky else "dev", server)
        if leaky:
            files["/root/.ssh/config"] = (
                f"Host prod-db\n  HostName {db.v4()}\n  User root\n"
                "  IdentityFile ~/.ssh/id_ed25519\n"
            )
            files["/root/.ssh/known_hosts"] = (
                f"{db.v4()} {keys.public_line(keys.host_key_purpose('prod-db'))}\n"
            )
    # the lab's AWS endpoint (a simulator) stands in for AWS in the hosts' environment
    endpoint = f"AWS_ENDPOINT_URL=http://{HOSTS['aws-api'].v4()}:{AWS_PORT}\n"
    if host == "dev-ws":  # a developer's own key, of the dev account
        files["/root/.ssh/environment"] = endpoint
        files["/root/.aws/credentials"] = (
            f"[default]\naws_access_key_id = {DEVWS_AWS_KEY_ID}\n"
            f"aws_secret_access_key = {DEVWS_AWS_SECRET}\n"
        )
    if host == "test-ci":
        key_id, secret = (
            (PROD_AWS_KEY_ID, PROD_AWS_SECRET) if leaky else (DEV_AWS_KEY_ID, DEV_AWS_SECRET)
        )
        files["/root/.aws/credentials"] = (
            f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
        )
        files["/root/.aws/config"] = "[default]\nregion = us-east-1\n"
        files["/root/.ssh/environment"] = (
            f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n" + endpoint
        )
    if host in SEGMENT_HOSTS:
        # the fleet segments' hosts: an ordinary app config (their own database), so the
        # secrets family has files to read there (an empty scan proves nothing)
        files["/srv/app/config/app.yml"] = (
            f"database: postgres://app:devpass@{HOSTS[host].fqdn()}:5432/app\n"
        )
    return files


def etc_files(zone: str, profile: str) -> dict[str, str]:
    """Files under /etc/netns/<ns>/: ip netns exec shows them as the zone's /etc."""
    z = ZONES[zone]
    hosts = "127.0.0.1 localhost\n::1 localhost\n"
    hosts += "".join(f"{h.v4()} {h.fqdn()} {h.name}\n" for h in HOSTS.values() if h.zone == zone)
    if zone == "test" and profile == "leaky":
        db = HOSTS["prod-db"]
        hosts += f"{db.v4()} {db.fqdn()} prod-db\n"
    if zone == "prod":
        resolv = f"nameserver {HOSTS['prod-dns'].v4()}\nsearch {z.domain}\n"
    else:
        resolv = f"nameserver {z.gateway4}\nnameserver {z.gateway6}\nsearch {z.domain}\n"
    return {"hosts": hosts, "resolv.conf": resolv}


def _kubeconfig(name: str, server: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {name}\n  cluster:\n    server: {server}\n"
        f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}-admin\n"
        f"current-context: {name}\n"
        f"users:\n- name: {name}-admin\n  user:\n    token: lab-{name}-token\n"
    )
