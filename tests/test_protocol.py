"""The records that cross to and from a vantage: JSON both ways, and nothing else accepted."""

from __future__ import annotations

import json

import pytest

from prodwall.probes.protocol import (
    DnsResult,
    DnsStatus,
    IpOutput,
    NameAnswer,
    ProbeRow,
    ProtocolError,
    Reply,
    RouteResult,
    ServerAnswer,
)
from prodwall.vantages.agentfile import agent_file


def test_records_survive_json_both_ways() -> None:
    result = DnsResult(
        names=(NameAnswer(name="db.prod.example", status=DnsStatus.NXDOMAIN),),
        resolvers=(
            ServerAnswer(
                server="198.19.10.53",
                zone="prod.example",
                udp=Reply(status=DnsStatus.ANSWER, rcode="REFUSED"),
                tcp=Reply(status=DnsStatus.TIMEOUT),
            ),
        ),
    )
    assert DnsResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    route = RouteResult(lookups=(IpOutput(command="ip -j route get x", error="TimeoutExpired"),))
    assert RouteResult.from_json(json.loads(json.dumps(route.to_json()))) == route


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"names": [{"name": "a", "status": "resolved-maybe"}]}, "is not a DnsStatus"),
        ({"names": [{"status": "nxdomain"}]}, "field 'name' is missing"),
        ({"names": "db"}, "expected a list"),
        ({"resolvers": [{"server": "s", "zone": "z", "udp": {"status": "answer"}}]}, "'tcp'"),
        ({"names": [{"name": 5, "status": "nxdomain"}]}, "expected str, got int"),
    ],
)
def test_anything_else_is_refused_by_name(data: object, says: str) -> None:
    with pytest.raises(ProtocolError, match=says):
        DnsResult.from_json(data)


def test_records_are_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        ProbeRow("198.19.0.1", 22, "open")  # type: ignore[misc]
    row = ProbeRow(target="198.19.0.1", port=22, status="open")
    with pytest.raises(AttributeError):
        row.port = 23  # type: ignore[misc]


def test_the_agent_file_holds_only_vantage_side_code() -> None:
    import io
    import zipfile

    names = set(zipfile.ZipFile(io.BytesIO(agent_file(("prodwall.probes.dnsagent",)))).namelist())
    assert {"__main__.py", "prodwall/probes/dnsagent.py", "prodwall/probes/protocol.py"} <= names
    assert "dns/resolver.py" in names  # dnspython travels with it
    # nothing of the runner side: no inventory models, no pydantic, no report
    assert not any(
        n.startswith(("prodwall/inventory", "prodwall/report", "pydantic")) for n in names
    )
