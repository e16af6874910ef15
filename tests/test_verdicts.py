"""Fail-closed verdicts: silence needs a positive control, waivers need to be valid."""

from __future__ import annotations

from datetime import date

import pytest

from prodwall.inventory.model import Waiver
from prodwall.verdicts import Observation, Outcome, Signal, judge

TODAY = date(2026, 11, 27)


def _obs(signal: Signal, port: int = 5432, host: str = "db") -> Observation:
    return Observation("tcp", "198.19.0.5", signal, f"saw {signal.value}", host, "tcp", port)


def _judge(obs: list[Observation], control: bool | None = True, waivers: tuple = ()):  # type: ignore[no-untyped-def,type-arg]
    return judge(
        obs,
        check="c",
        controls=("NET-TCP-01",),
        vantage="dev",
        group="prod",
        positive_control=control,
        waivers=waivers,
        today=TODAY,
        control_failure="tcp/443 on mirror timed out",
    )


def _waiver(expires: str = "2027-01-01", **kw: object) -> Waiver:
    data = {
        "id": "W-1",
        "target": "db",
        "services": ["postgres"],
        "ticket": "RISK-1",
        "approver": "ciso",
        "justification": "j",
        "expires": expires,
        **kw,
    }
    return Waiver.model_validate(data)


def test_silence_is_blocked_only_with_a_passing_positive_control() -> None:
    silent = [_obs(Signal.SILENT, p) for p in (1, 2, 3)]
    assert _judge(silent, control=True).outcome is Outcome.BLOCKED
    failed_control = _judge(silent, control=False)
    assert failed_control.outcome is Outcome.INCONCLUSIVE
    assert failed_control.reason == (
        "3 of 3 probes could not tell; positive control failed: tcp/443 on mirror timed out"
    )
    assert _judge(silent, control=None).outcome is Outcome.INCONCLUSIVE


def test_any_crossing_is_reachable_and_listed() -> None:
    verdict = _judge([_obs(Signal.STOPPED, 1), _obs(Signal.CROSSED, 5432)])
    assert verdict.outcome is Outcome.REACHABLE
    assert verdict.reason.endswith("(1 of 2 probes reached production)")
    assert verdict.findings == ("198.19.0.5 tcp/5432 (db): saw crossed",)
    assert verdict.counts == {"blocked": 1, "reachable": 1}


def test_tool_failure_is_inconclusive_never_a_pass() -> None:
    verdict = _judge([_obs(Signal.STOPPED, 1), _obs(Signal.FAILED, 2)])
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.inconclusive_items == ("198.19.0.5 tcp/2 (db): saw failed",)


def test_zero_targets_is_not_reviewed() -> None:
    assert _judge([]).outcome is Outcome.NOT_REVIEWED


def test_valid_waiver_gives_waived_with_original_outcome() -> None:
    verdict = _judge([_obs(Signal.CROSSED, 5432), _obs(Signal.STOPPED, 1)], waivers=(_waiver(),))
    assert verdict.outcome is Outcome.WAIVED
    assert verdict.original_outcome is Outcome.REACHABLE
    assert [w.id for w in verdict.waivers] == ["W-1"]
    assert verdict.findings == ("198.19.0.5 tcp/5432 (db): saw crossed (waived by W-1, RISK-1)",)


@pytest.mark.parametrize(
    "waiver",
    [
        _waiver(expires="2026-11-26"),  # expired yesterday
        _waiver(services=["ssh"]),  # another service
        _waiver(control="NET-UDP-01"),  # another control
        _waiver(vantage="elsewhere"),  # another vantage
        _waiver(target="api"),  # another host
    ],
)
def test_waiver_that_does_not_cover_the_finding_leaves_it_reachable(waiver: Waiver) -> None:
    assert _judge([_obs(Signal.CROSSED)], waivers=(waiver,)).outcome is Outcome.REACHABLE


def test_waiver_does_not_hide_an_unwaived_finding() -> None:
    verdict = _judge([_obs(Signal.CROSSED, 5432), _obs(Signal.CROSSED, 22)], waivers=(_waiver(),))
    assert verdict.outcome is Outcome.REACHABLE
    assert verdict.counts == {"waived": 1, "reachable": 1}


def test_evidence_shows_host_filter_distances_and_receiver_losses() -> None:
    from dataclasses import replace

    receiver = {"answers_lost": 12, "recovery": {"rounds": 1, "lost_in_last_round": 0}}
    host = {"filter": "nftables ruleset (1 base chains)", "kernel_path": {"a": "refused (EPERM)"}}
    reading = {"answer_from_hops": 1, "production_at_least_hops": 2, "why": "w"}
    o = replace(
        _obs(Signal.STOPPED),
        evidence={"sweep": {"receiver": receiver}, "vantage_filter": host, "distance": reading},
    )
    evidence = _judge([o]).evidence
    assert evidence["receiver"] == receiver
    assert evidence["vantage_filter"] == host
    assert evidence["distances"] == [reading]


def test_a_reachable_reason_says_in_words_what_answered() -> None:
    def opened(port: int, host: str) -> Observation:
        return Observation("tcp", "198.19.0.5", Signal.CROSSED, "open (SYN-ACK)", host, "tcp",
                           port, state="open")  # fmt: skip

    refused = Observation("tcp", "198.19.0.9", Signal.CROSSED, "refused (RST)", "", "tcp", 22,
                          state="closed")  # fmt: skip
    verdict = _judge([opened(5432, "db"), opened(443, "web"), opened(8443, "web"), refused,
                      _obs(Signal.STOPPED, 1)])  # fmt: skip
    assert verdict.reason == (
        "db answered on 1 port: tcp/5432; web answered on 2 ports: tcp/443, tcp/8443; "
        "1 other probes were answered from production (4 of 5 probes reached production)"
    )
    only_refused = _judge([refused])
    assert only_refused.reason.startswith("198.19.0.9 tcp/22: refused (RST)")
    # the state decides, not the words: a detail that says "open" is not an open port
    worded = Observation("tcp", "198.19.0.7", Signal.CROSSED, "open? no: reset in its name",
                         "db", "tcp", 25, state="closed")  # fmt: skip
    assert _judge([worded]).reason.startswith("198.19.0.7 tcp/25 (db): open? no")
