"""The labelled corpus (tests/secrets_corpus.py) as a regression test: every production
item found and attributed, no test item or decoy reported as production's."""

from __future__ import annotations

from pathlib import Path

from prodwall.families.secrets.records import ScanOptions, SecretJob
from prodwall.families.secrets.vantage_agent import collect
from secrets_corpus import ENVIRONMENTS, generate, score, write


def test_recall_is_complete_and_nothing_else_is_called_production(tmp_path: Path) -> None:
    corpus = generate(seed=11, copies=2)
    write(corpus, tmp_path)
    job = SecretJob(
        key="22" * 32,
        environments=ENVIRONMENTS,
        options=ScanOptions(paths=(str(tmp_path),), processes=False, credential_stores=False),
    )
    result = collect(job)
    s = score(corpus, result.findings, tmp_path)
    assert s.missed == [], s.missed
    assert s.false_production == [], s.false_production
    assert s.recall == 1.0 and s.precision == 1.0
    assert len({i.shape for i in corpus.items}) >= 30  # every shape, and the decoys
