"""Positive controls, judged on the verdict side: did this run prove that an
answer would have been seen, so that silence may count as blocked?

Checks call these with the observations of a family's controls; no probe
module decides whether silence is evidence.
"""

from __future__ import annotations

from collections.abc import Sequence

from prodwall.verdicts import Observation


def control_status(
    observations: Sequence[Observation], protocol: str, kind: str = "control"
) -> tuple[bool, str]:
    """Did this run's positive controls for `protocol` pass? (False with the reason if not.)

    For TCP, silence is evidence when a known-closed port's RST came back (the
    strongest proof: even a refusal by the host would be seen) or, where the
    boundary lets no closed port through, when a control answered from beyond
    the boundary (answers come back; the missing RST control is stated as a
    limitation, see `control_limitations`)."""
    mine = [o for o in observations if o.kind == kind and o.protocol == protocol]
    if not mine:
        return False, f"no positive control for {protocol} is declared for this vantage"
    failed = [o.detail for o in mine if o.control is None or not o.control.passed]
    if failed:
        return False, "; ".join(failed)
    if protocol == "tcp" and not _closed_controls(mine) and not _answers_from_beyond(mine):
        return False, (
            "no known-closed TCP control and no control answered from beyond the boundary: "
            "an answer would not be proven visible"
        )
    return True, ""


def control_limitations(observations: Sequence[Observation], protocol: str) -> list[str]:
    """What this run's controls did not prove, stated in the evidence of every verdict."""
    mine = [o for o in observations if o.kind == "control" and o.protocol == protocol]
    if protocol != "tcp" or _closed_controls(mine) or not _answers_from_beyond(mine):
        return []
    names = ", ".join(
        f"{o.target} tcp/{o.port} via {o.control.next_hop}"
        for o in _answers_from_beyond(mine)
        if o.control is not None
    )
    return [
        "no known-closed TCP control: a RST from production was not proven visible; silence "
        f"counts as blocked on the strength of the answer of {names} from beyond the boundary"
    ]


def allowed_flows(observations: Sequence[Observation], protocol: str, network: str) -> list[str]:
    """The allowed flows into `network` this run probed (as controls): shown as allowed."""
    return [
        f"{o.detail.removeprefix('positive control ')} [allowed: {o.control.why}]"
        for o in observations
        if o.kind == "control"
        and o.protocol == protocol
        and o.control is not None
        and o.control.expect == "answer"
        and o.control.network == network
    ]


def _closed_controls(mine: list[Observation]) -> list[Observation]:
    return [o for o in mine if o.control is not None and o.control.expect == "closed"
            and o.control.passed]  # fmt: skip


def _answers_from_beyond(mine: list[Observation]) -> list[Observation]:
    return [
        o
        for o in mine
        if o.control is not None
        and o.control.expect == "answer"
        and o.control.passed
        and o.control.beyond_boundary
    ]
