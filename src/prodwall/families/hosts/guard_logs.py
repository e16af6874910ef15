"""The guardrail judges' shared pieces, and the production logs judged (what a read-only
account sees of them: sampled from their end, secrets only as fingerprints)."""

from __future__ import annotations

from collections.abc import Iterator

from prodwall.families.hosts.records import ProductionFacts
from prodwall.inventory.model import Environment, Inventory
from prodwall.verdicts import Observation, Signal


def _obs(aspect: str, signal: Signal, detail: str, where: str = "") -> Observation:
    return Observation("host", where or aspect, signal, detail, evidence={"aspect": aspect})


def _logs(f: ProductionFacts, env: Environment, inv: Inventory, key: bool) -> Iterator[Observation]:
    if not f.logs:
        yield _obs(
            "logs", Signal.FAILED, "no log matched host_policy.log_paths or none could be read"
        )
        return
    for c in f.cards:
        yield _obs(
            "logs",
            Signal.CROSSED,
            f"a {c.brand} card number ending {c.last4} (fingerprint {c.fingerprint}) in "
            f"{c.path}:{c.line}",
            where=f"{c.path}:{c.line}",
        )
    secrets = {
        s.hmac_sha256[:12]: (name, s.name)
        for name, e in inv.production().items()
        for s in e.secrets
    }
    for sample in f.logs:
        if sample.words_cut:
            yield _obs(
                "logs",
                Signal.FAILED,
                f"{sample.path}: more distinct words than are fingerprinted; the rest of the "
                "sample was not matched with the production secrets",
                where=sample.path,
            )
        for prefix in set(sample.words) & set(secrets):
            env_name, secret = secrets[prefix]
            yield _obs(
                "logs",
                Signal.CROSSED,
                f"{env_name}'s secret {secret} appears in {sample.path} (by fingerprint)",
                where=sample.path,
            )
    if not key and secrets:
        yield _obs(
            "logs",
            Signal.FAILED,
            "no fingerprint key ($PRODWALL_FINGERPRINT_KEY): log words could not be "
            "matched with the inventory's production secrets",
        )
    total = sum(s.bytes for s in f.logs)
    yield _obs(
        "logs",
        Signal.STOPPED,
        f"sampled {len(f.logs)} log(s), {total / 1e6:.1f} MB; {f.decoys} test card "
        "number(s) ignored",
    )
