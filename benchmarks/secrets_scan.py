"""Secrets scanning: prodwall's accuracy on the labelled corpus, and its speed and memory
against detect-secrets and trufflehog3 on the same generated tree, in the same run.

    .venv/bin/python benchmarks/secrets_scan.py [--mb 200] [--peer-mb 8]

The tree is at least --mb megabytes of mixed configs, code, logs and binaries with
production and test connection strings and keys planted in it. prodwall reads all
of it on one core (its agent is single-threaded). The peers are installed into
their own virtualenv (their pinned dependencies would clash with prodwall's) and,
being one to two orders of magnitude slower, read a --peer-mb sample of the same
tree; each tool's MB/s is its own bytes read over its own wall time. Not a test:
it prints figures and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import timed

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from prodwall.families.secrets.records import ScanOptions, SecretJob  # noqa: E402
from prodwall.families.secrets.vantage_agent import collect  # noqa: E402
from secrets_corpus import ENVIRONMENTS, SHAPES, generate, score, write  # noqa: E402

PEERS_VENV = Path(tempfile.gettempdir()) / "prodwall-bench-peers"
PEERS = ("detect-secrets==1.5.0", "trufflehog3==3.0.10")

CODE = '''\
import os
import logging

log = logging.getLogger(__name__)


def handler_{n}(event, context):
    """Process one event; retries are handled upstream."""
    url = os.environ.get("SERVICE_URL", "http://localhost:8080/api/v1/items")
    total = sum(int(x) for x in event.get("values", []))
    log.info("processed %s values from %s", total, url)
    return {{"status": 200, "body": str(total)}}

'''
LOG = "2026-11-28T03:{m:02d}:{s:02d}Z INFO request id={rid} path=/api/items status=200 ms={ms}\n"


def make_tree(root: Path, megabytes: int, seed: int = 3) -> int:
    """A tree of about `megabytes` MB; returns its size in bytes."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    size, n = 0, 0
    shapes = list(SHAPES.items())
    while size < target:
        folder = root / f"svc{n // 200}"
        folder.mkdir(parents=True, exist_ok=True)
        kind = n % 10
        if kind < 4:  # code
            text = "".join(CODE.format(n=i) for i in range(rng.randint(20, 120)))
            path = folder / f"module_{n}.py"
            path.write_text(text)
        elif kind < 6:  # configs, some with a planted connection string
            lines = [f"setting_{i}: value-{rng.randint(0, 10**6)}\n" for i in range(200)]
            _, make = rng.choice(shapes)
            lines.insert(rng.randrange(len(lines)), make(rng, rng.random() < 0.5) + "\n")
            path = folder / f"app_{n}.yml"
            path.write_text("".join(lines))
        elif kind < 9:  # logs
            text = "".join(
                LOG.format(
                    m=i % 60, s=(i * 7) % 60, rid=rng.getrandbits(48), ms=rng.randint(1, 900)
                )
                for i in range(rng.randint(2000, 8000))
            )
            path = folder / f"access_{n}.log"
            path.write_text(text)
        else:  # binaries
            path = folder / f"blob_{n}.bin"
            path.write_bytes(b"\0ELF" + rng.randbytes(rng.randint(100_000, 600_000)))
        size += path.stat().st_size
        n += 1
    return size


def sample(root: Path, megabytes: float, into: Path) -> int:
    """The first `megabytes` of the tree's files, copied, for the slower peers."""
    size = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        dest = into / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
        size += path.stat().st_size
        if size >= megabytes * 1_000_000:
            break
    return size


def prodwall_argv(root: Path) -> list[str]:
    job = SecretJob(
        key="33" * 32,
        environments=ENVIRONMENTS,
        options=ScanOptions(
            paths=(str(root),), processes=False, credential_stores=False, max_file_bytes=4 << 20
        ),
    )
    code = (
        "import json,sys\nfrom prodwall.families.secrets.vantage_agent import collect\n"
        "from prodwall.families.secrets.records import SecretJob\n"
        "r=collect(SecretJob.from_json(json.loads(sys.argv[1])))\n"
        "print(len(r.findings))\n"
    )
    return [sys.executable, "-c", code, json.dumps(job.to_json())]


def install_peers() -> Path:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEERS],
        check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return python


DETECT_SECRETS = """\
import sys
from pathlib import Path
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings
found = 0
with default_settings():
    sc = SecretsCollection()
    for p in sorted(Path(sys.argv[1]).rglob('*')):
        if p.is_file():
            sc.scan_file(str(p))
    found = sum(len(v) for _, v in sc.data.items())
print(found)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--peer-mb", type=float, default=8.0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus_root = Path(tmp) / "corpus"
        corpus = generate(seed=7, copies=8)
        write(corpus, corpus_root)
        job = SecretJob(
            key="33" * 32,
            environments=ENVIRONMENTS,
            options=ScanOptions(
                paths=(str(corpus_root),), processes=False, credential_stores=False
            ),
        )
        s = score(corpus, collect(job).findings, corpus_root)
        shapes = len({i.shape for i in corpus.items})
        print(f"accuracy on the labelled corpus ({len(corpus.items)} items, {shapes} shapes "
              f"and decoys, {s.production_items} production items):")  # fmt: skip
        print(f"  recall    {s.recall:.3f}  ({s.found}/{s.production_items} production items)")
        print(f"  precision {s.precision:.3f}  ({len(s.false_production)} non-production "
              "items reported as production)")  # fmt: skip
        for miss in s.missed[:10]:
            print(f"  missed: {miss}")
        for false in s.false_production[:10]:
            print(f"  false production: {false}")

        tree = Path(tmp) / "tree"
        started = time.monotonic()
        total = make_tree(tree, args.mb)
        print(f"\ntree: {total / 1e6:.0f} MB generated in {time.monotonic() - started:.0f} s")
        rows = []
        seconds, peak, out, code = timed(prodwall_argv(tree), timeout=3600)
        rows.append(("prodwall", total, seconds, peak, out.strip(), code))
        peer_root = Path(tmp) / "peer-sample"
        peer_bytes = sample(tree, args.peer_mb, peer_root)
        python = install_peers()
        seconds, peak, out, code = timed(
            [str(python), "-c", DETECT_SECRETS, str(peer_root)], timeout=3600
        )
        rows.append(("detect-secrets", peer_bytes, seconds, peak, out.strip(), code))
        trufflehog = str(PEERS_VENV / "bin" / "trufflehog3")
        seconds, peak, out, code = timed(
            [trufflehog, "--no-history", "-f", "json", "-o", os.devnull, str(peer_root)],
            timeout=3600,
        )
        rows.append(("trufflehog3", peer_bytes, seconds, peak, "", code))

    print(f"\n{'tool':<15} {'read MB':>8} {'seconds':>8} {'MB/s':>7} {'peak MB':>8}  findings")
    rates = {}
    for name, size, seconds, peak, found, code in rows:
        rates[name] = size / 1e6 / seconds
        status = found if code in (0, 1) else f"exit {code}"
        print(f"{name:<15} {size / 1e6:>8.1f} {seconds:>8.1f} {rates[name]:>7.2f} {peak:>8.0f}  "
              f"{status}")  # fmt: skip
    print()
    for name in ("detect-secrets", "trufflehog3"):
        print(f"prodwall / {name}: {rates['prodwall'] / rates[name]:.0f}x the MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
