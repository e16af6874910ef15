"""The records that cross to and from a vantage: JSON both ways, and nothing else accepted."""

from __future__ import annotations

import json

import pytest

from prodwall.engine.protocol import ProtocolError
from prodwall.families.dns.records import DnsResult, DnsStatus, NameAnswer, Reply, ServerAnswer
from prodwall.families.network.records import (
    ControlJob,
    ControlResult,
    EchoResult,
    Hop,
    KindError,
    NetworkResult,
    Packet,
    ProbeRow,
    ProbeStatus,
    Sweep,
    SweepGroup,
    Trace,
)
from prodwall.families.routes.records import IpOutput, RouteResult
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


def test_the_network_result_survives_json_both_ways() -> None:
    group = SweepGroup(
        target="198.19.10.10",
        status=ProbeStatus.FILTERED_ICMP,
        ports="1-79,81-65535",
        count=65534,
        responder="198.18.1.1",
        icmp_type=3,
        icmp_code=13,
        ttl=64,
    )
    result = NetworkResult(
        controls=(
            ControlResult(
                control=ControlJob(kind="tcp", address="198.18.3.10", port=81, expect="closed"),
                observed=ProbeStatus.CLOSED,
                method="raw-syn",
                next_hop="198.18.1.1",
            ),
        ),
        tcp=Sweep(
            method="raw-syn",
            sent=65534,
            retransmitted=3,
            seconds=1.5,
            groups=(group,),
            pcap=(Packet(at=1.0, data="RQAA"),),
            kernel_path={"198.19.10.10": "sent"},
        ),
        icmp=(EchoResult(target="198.19.10.10", status=ProbeStatus.SILENT),),
        traces=(
            Trace(
                target="198.19.10.10",
                port=1,
                hops=(Hop(ttl=1, responder="198.18.1.1", what="time-exceeded", ttl_in=64),),
            ),
        ),
        errors=(KindError(kind="udp", message="the sweep failed"),),
    )
    wire = json.loads(json.dumps(result.to_json()))
    assert wire["tcp"]["groups"][0]["status"] == "filtered-icmp"  # plain JSON, lists
    assert NetworkResult.from_json(wire) == result


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"icmp": [{"target": "a", "status": "answered-probably"}]}, "is not a ProbeStatus"),
        ({"tcp": {"method": "raw-syn", "sent": 1, "retransmitted": 0}}, "'seconds' is missing"),
        ({"errors": ["tcp: the sweep failed"]}, "expected an object, got str"),
        (
            {
                "tcp": {
                    "method": "raw-syn",
                    "sent": 1,
                    "retransmitted": 0,
                    "seconds": 1,
                    "kernel_path": {"a": 1},
                }
            },
            "expected str, got int",
        ),
    ],
)
def test_a_network_result_in_another_shape_is_refused(data: object, says: str) -> None:
    with pytest.raises(ProtocolError, match=says):
        NetworkResult.from_json(data)


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
    row = ProbeRow(target="198.19.0.1", port=22, status=ProbeStatus.OPEN)
    with pytest.raises(AttributeError):
        row.port = 23  # type: ignore[misc]


def test_the_agent_file_holds_only_vantage_side_code() -> None:
    import io
    import zipfile

    module = "prodwall.families.dns.vantage_agent"
    names = set(zipfile.ZipFile(io.BytesIO(agent_file((module,)))).namelist())
    assert {"__main__.py", "prodwall/families/dns/vantage_agent.py",
            "prodwall/engine/protocol.py"} <= names  # fmt: skip
    assert "dns/resolver.py" in names  # dnspython travels with it
    # nothing of the runner side: no inventory models, no pydantic, no report
    assert not any(
        n.startswith(("prodwall/inventory", "prodwall/report", "pydantic")) for n in names
    )


def test_a_closed_set_of_values_is_refused_outside_it() -> None:
    """Record fields with a closed set of values are Literal types: the decoder refuses
    anything else by name, where a comment once listed the values (#26)."""
    from prodwall.families.network.records import Sweep

    good = Sweep(method="raw-syn", sent=1, retransmitted=0, seconds=0.1).to_json()
    assert Sweep.from_json(good).method == "raw-syn"
    with pytest.raises(ProtocolError, match="'raw-ack' is not one of 'raw-syn'"):
        Sweep.from_json({**good, "method": "raw-ack"})
