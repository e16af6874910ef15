"""Reports rendered from results files built here: content, agreement, integrity, history."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from prodwall.cli import main
from prodwall.report import html, junit, oscal
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined, load
from prodwall.report.compare import diff, history
from prodwall.report.keys import trust_from
from prodwall.report.manifest import keygen, verify
from prodwall.results import write_results
from prodwall.verdicts import Outcome
from report_data import results


def _combined() -> Combined:
    return Combined((results("dev", 10), results("test", 10, seed=2)))


def test_summary_reads_without_javascript_and_before_any_script() -> None:
    page = html.render(_combined())
    before_script = page.split("<script>")[0]
    assert (
        "From 2 vantages (dev, test), 20 checks: 12 blocked, 2 REACHABLE, 2 inconclusive, "
        "2 waived (reachable), 2 not reviewed. Production is NOT isolated: 2 checks reached "
        "production." in before_script
    )
    # every check is a server-rendered row: nothing is drawn by JavaScript
    assert len(re.findall(r"<div id=c[0-9]+ class=r data-o=", before_script)) == 20
    assert "id=attestation" in before_script and "GITHUB_RUN_ID=4242" in before_script
    assert "ab" * 8 in before_script  # inventory sha256


def test_no_external_fetches() -> None:
    page = html.render(_combined())
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page


def test_requirement_view_matrix_and_waivers() -> None:
    page = html.render(_combined())
    assert "PCI DSS 4.0.1" in page and "<td>11.4.5</td>" in page
    assert "NIST SP 800-53 Rev. 5" in page and "SC-7(5)" in page
    assert "id=scope" in page and "Scope and limitations" in page
    assert "Reachability matrix" in page and "tcp IPv4" in page and "dns DNS" in page
    # waivers: shown as waived (reachable) with ticket, approver, justification, expiry
    assert "waived (reachable)" in page
    assert "RISK-311" in page and "Lee Marsh (CISO)" in page and "2027-01-31" in page
    assert "legacy syslog until migration" in page
    assert "W-OLD" in page and ">expired: no longer applies<" in page
    # W-1 covers the waived finding; an active waiver nothing used is flagged for review
    assert ">active, applied<" in page and "every vantage" in page


def test_counts_agree_across_views() -> None:
    c = _combined()
    s = c.summary()
    suites = [x for x in ET.fromstring(junit.render(c)) if x.get("name") != "prodwall.coverage"]
    total = sum(int(x.get("tests", 0)) for x in suites)
    assert total == len(c.verdicts) == 20
    assert sum(int(x.get("failures", 0)) for x in suites) == s["reachable"]
    assert sum(int(x.get("errors", 0)) for x in suites) == s["inconclusive"]
    assert sum(int(x.get("skipped", 0)) for x in suites) == s["waived"] + s["not-reviewed"]
    case = suites[0][0]
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert set(props) == {"control", "requirement", "vantage", "target", "outcome"}
    assert suites[0].get("time") == "300.000" and suites[0].get("timestamp")
    doc = json.loads(oscal.render(c))["assessment-results"]
    result = doc["results"][0]
    assert len(result["observations"]) == 20
    states = [f["target"]["status"]["state"] for f in result["findings"]]
    assert "not-satisfied" in states and "satisfied" in states
    assert {"sc-7.5", "ac-4"} <= {
        x["control-id"]
        for x in result["reviewed-controls"]["control-selections"][0]["include-controls"]
    }
    page = html.render(c)
    for outcome, n in s.items():
        shown = len(re.findall(rf"<div id=c[0-9]+ class=r data-o={outcome} ", page))
        assert shown == n, outcome


def test_merge_writes_one_report_from_two_vantages(tmp_path: Path) -> None:
    for name, r in (("a", results("dev", 10)), ("b", results("test", 10, seed=2))):
        write_results(r, tmp_path / name / "results.json")
        write_bundle(Combined((r,)), tmp_path / name)  # what `prodwall run` leaves
    code = main(
        [
            "merge",
            str(tmp_path / "a"),
            str(tmp_path / "b" / "results.json"),
            "-o",
            str(tmp_path / "m"),
        ]
    )
    assert code == 1  # the merged results hold reachable checks: the report says so by its code
    merged = load([tmp_path / "m" / "merged.json"])
    assert {v.vantage for v in merged.verdicts} == {"dev", "test"}
    page = (tmp_path / "m" / "report.html").read_text()
    assert "From 2 vantages (dev, test)" in page
    for name in ("junit-prodwall.xml", "oscal-assessment-results.json", "manifest.json"):
        assert (tmp_path / "m" / name).exists()
    # the sidecar holding the full data is listed in the report with its sha256
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert f"<td class=mono>{manifest['files']['merged.json']}</td>" in page
    assert '<a href="runs/01-dev/report.html">' in page  # each copied run's own report


def test_diff_lists_what_became_reachable_fixed_or_inconclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = results(
        "dev", 4, outcomes=[Outcome.BLOCKED, Outcome.REACHABLE, Outcome.BLOCKED, Outcome.BLOCKED]
    )
    new = results(
        "dev",
        4,
        outcomes=[Outcome.REACHABLE, Outcome.BLOCKED, Outcome.INCONCLUSIVE, Outcome.BLOCKED],
    )
    kinds = [
        (ch.kind, ch.check.split("::")[1][:6]) for ch in diff(Combined((old,)), Combined((new,)))
    ]
    assert kinds == [
        ("became-reachable", "test_0"),
        ("fixed", "test_1"),
        ("became-inconclusive", "test_2"),
    ]
    for name, r in (("old", old), ("new", new)):
        write_results(r, tmp_path / name / "results.json")
        write_bundle(Combined((r,)), tmp_path / name)
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new" / "results.json")]) == 1
    assert "1 became reachable, 1 fixed, 1 became inconclusive" in capsys.readouterr().out
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "old")]) == 0
    # a bare results file proves nothing: refused, or read as unverified and never clean
    write_results(old, tmp_path / "bare.json")
    assert main(["diff", str(tmp_path / "bare.json"), str(tmp_path / "old")]) == 2
    assert main(["diff", str(tmp_path / "bare.json"), str(tmp_path / "old"),
                 "--allow-unverified"]) == 3  # fmt: skip


def test_history_summarises_nights(tmp_path: Path) -> None:
    nights = [
        ("2026-11-25", [Outcome.BLOCKED] * 3),
        ("2026-11-26", [Outcome.BLOCKED, Outcome.REACHABLE, Outcome.BLOCKED]),
        ("2026-11-27", [Outcome.BLOCKED, Outcome.REACHABLE, Outcome.INCONCLUSIVE]),
    ]
    for day, outcomes in nights:
        r = results("dev", 3, started=f"{day}T01:00:00Z", outcomes=outcomes)
        write_results(r, tmp_path / day / "results.json")
        write_bundle(Combined((r,)), tmp_path / day)  # what `prodwall run` leaves each night
    latest, summary = history(tmp_path, trust_from())
    assert summary["flags"] == []
    assert summary["nights_run"] == 3 and summary["nights_blocked"] == 1
    assert summary["from"] == "2026-11-25" and summary["to"] == "2026-11-27"
    reach = next(f for f in summary["findings"] if "reachable" in f["finding"])
    assert (reach["first"], reach["last"], reach["nights"]) == ("2026-11-26", "2026-11-27", 2)
    assert all(v.vantage == "dev" for v in latest.verdicts) and len(latest.verdicts) == 3
    assert main(["history", str(tmp_path), "--out", str(tmp_path.parent / "h")]) == 1
    page = (tmp_path.parent / "h" / "report.html").read_text()
    assert "3 nights run, 1 fully blocked" in page and "<svg" in page


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[Path, Path, Path]:
    key, pub = keygen(tmp_path / "signer")
    out = tmp_path / "run"
    write_results(results("dev", 10), out / "results.json")
    (out / "evidence").mkdir()
    (out / "evidence" / "dev-tcp-answers.pcap").write_bytes(bytes(range(256)))
    write_bundle(Combined((results("dev", 10),)), out, signing_key=key)
    return out, pub, tmp_path


def test_verify_passes_an_intact_signed_bundle(bundle: tuple[Path, Path, Path]) -> None:
    out, pub, _ = bundle
    result = verify(out, pub)
    assert result.ok and result.signature_ok and result.signature.startswith("valid, by SHA256:")
    assert main(["verify", str(out), "--public-key", str(pub)]) == 0


@pytest.mark.parametrize(
    "name",
    [
        "results.json",
        "report.html",
        "junit-prodwall.xml",
        "oscal-assessment-results.json",
        "evidence/dev-tcp-answers.pcap",
    ],
)
def test_verify_names_a_single_changed_byte(
    bundle: tuple[Path, Path, Path], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, pub, _ = bundle
    target = out / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify(out, pub)
    assert result.changed == (name,) and not result.ok
    assert main(["verify", str(out), "--public-key", str(pub)]) == 1
    assert f"CHANGED  {name}" in capsys.readouterr().out


def test_verify_detects_a_wrong_or_removed_signature(bundle: tuple[Path, Path, Path]) -> None:
    out, _pub, tmp = bundle
    _key, other = keygen(tmp / "someone-else")
    wrong = verify(out, other)
    assert not wrong.ok and wrong.signature.startswith("INVALID")
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"signed": true', '"signed": true '))
    edited = verify(out, _pub)  # manifest edited after signing
    assert not edited.ok and edited.signature.startswith("INVALID")
    (out / "manifest.sig").unlink()
    removed = verify(out, _pub)  # signed manifest, signature removed
    assert not removed.ok and removed.signature.startswith("ABSENT")


def test_verify_names_added_and_removed_files(bundle: tuple[Path, Path, Path]) -> None:
    out, pub, _ = bundle
    (out / "evidence" / "dev-tcp-answers.pcap").unlink()
    (out / "extra.txt").write_text("slipped in")
    result = verify(out, pub)
    assert result.missing == ("evidence/dev-tcp-answers.pcap",)
    assert result.unlisted == ("extra.txt",)


def test_twenty_thousand_verdicts_stay_small(tmp_path: Path) -> None:
    c = Combined((results("dev", 10_000, seed=3), results("test", 10_000, seed=4)))
    page = html.render(c)
    (tmp_path / "big.html").write_text(page)
    size = (tmp_path / "big.html").stat().st_size
    assert size < 15 * 1024 * 1024, f"{size / 1e6:.1f} MB"
    assert len(re.findall(r"<div id=c[0-9]+ class=r data-o=", page)) == 20_000


def test_partial_coverage_is_never_green_and_says_what_is_missing(tmp_path: Path) -> None:
    from dataclasses import replace

    blocked = results("dev", 3, outcomes=[Outcome.BLOCKED] * 3)
    complete = Combined((blocked,))
    assert not complete.coverage().partial and complete.exit_code() == 0
    assert "Every reviewed check is blocked" in html.sentence(complete)
    # a control the catalogue maps, never reviewed: its requirements are not covered
    cat = {**blocked.catalogue, "SEC-CRED-01": {
        "title": "No production credential", "severity": "critical", "family": "secrets",
        "references": {"pci-dss-4.0.1": ["8.6.2"]},
        "titles": {"pci-dss-4.0.1 8.6.2": "Passwords are not hard-coded"}}}  # fmt: skip
    for partial in (
        replace(blocked, catalogue=cat),
        replace(blocked, not_run=("cloud-role",)),
    ):
        c = Combined((partial,))
        assert c.coverage().partial and c.exit_code() == 3 and partial.exit_code() == 3
        said = html.sentence(c)
        assert "PARTIAL" in said and "Every reviewed check is blocked" not in said
        page = html.render(c)
        assert 'class="verdict partial"' in page and 'class="verdict blocked"' not in page
        if partial.not_run:
            assert "cloud-role" in said and "not run" in page
        else:
            assert "8.6.2" in said and "Passwords are not hard-coded" in page
        suites = ET.fromstring(junit.render(c))
        (cov,) = [x for x in suites if x.get("name") == "prodwall.coverage"]
        assert [e.get("type") for e in cov.iter("error")] == ["partial"]
        write_results(partial, tmp_path / "r" / "results.json")
        write_bundle(Combined((partial,)), tmp_path / "r")
        assert main(["report", str(tmp_path / "r"), "-o", str(tmp_path / "out"), "--force"]) == 3


def test_matrix_and_requirement_links_point_at_rows_that_exist() -> None:
    page = html.render(_combined())
    ids = set(re.findall(r"<div id=(c[0-9]+) class=r", page))
    matrix = page.split("id=matrix")[1].split("</table>")[0]
    links = re.findall(r"href='#([^']+)'", matrix)
    assert links and set(links) <= ids
    reqs = page.split("id=requirements")[1].split("id=waivers")[0]
    links = re.findall(r"href='#(c[0-9]+)'", reqs)
    assert links and set(links) <= ids
    assert "Passwords" not in reqs  # titles come from the results' catalogue only


def test_findings_are_grouped_by_cause_most_severe_first_with_remediation() -> None:
    from dataclasses import replace

    from prodwall.report.findings import by_cause
    from prodwall.verdicts import Verdict

    base = results("dev", 1, outcomes=[Outcome.BLOCKED])
    cat = {
        **base.catalogue,
        "NET-ICMP-01": {"title": "No echo", "severity": "medium", "family": "network",
                        "cause": "path", "why": "echo maps production", "remediation": "drop echo",
                        "references": {"soc2": ["CC6.6"]}},
        "SEC-CRED-01": {"title": "No production credential", "severity": "critical",
                        "family": "secrets", "cause": "secret",
                        "why": "a key opens production",
                        "remediation": "rotate the key", "references": {"soc2": ["CC6.1"]}},
    }  # fmt: skip
    six = "fd00:19::/32"

    def v(check: str, control: str, group: str, finding: str, vantage: str = "dev") -> Verdict:
        return Verdict(check, (control,), vantage, group, Outcome.REACHABLE, "r",
                       findings=(finding,))  # fmt: skip

    verdicts = (
        # one path (dev -> the IPv6 network), three protocols: one finding
        v("t::tcp", "NET-TCP-01", six, "fd00:19::10 tcp/22: refused (RST)"),
        v("t::tcp2", "NET-TCP-01", six, "fd00:19::10 tcp/5432 (db): open (SYN-ACK)"),
        v("t::icmp", "NET-ICMP-01", six, "fd00:19::10: echo reply"),
        # one key in two places: one finding
        v(
            "s::stores",
            "SEC-CRED-01",
            "stores",
            "~/.aws/credentials: key [fingerprint 0123456789abcdef]",
        ),
        v(
            "s::env",
            "SEC-CRED-01",
            "processes",
            "pid 9 environ: key [fingerprint 0123456789abcdef]",
        ),
        # the same network from another vantage is another path
        v("t::tcp3", "NET-TCP-01", six, "fd00:19::10 tcp/443: open (SYN-ACK)", "test"),
    )
    found = by_cause(verdicts, cat)
    # equal severity: the cause seen by more checks first
    assert [(f.severity, len(f.verdicts)) for f in found] == [
        ("critical", 3), ("critical", 2), ("critical", 1),
    ]  # fmt: skip
    assert found[1].remediation == "rotate the key" and "a key opens" in found[1].why
    assert "drop echo" in found[0].remediation  # every control of the cause says its fix
    page = html.render(Combined((replace(base, verdicts=verdicts, catalogue=cat),)))
    section = page.split("id=findings")[1].split("id=attestation")[0]
    assert "Findings by cause (3)" in section and "Remediation:" in section
    ids = set(re.findall(r"<div id=(c[0-9]+) class=r", page))
    assert set(re.findall(r"href='#(c[0-9]+)'", section)) <= ids
    # the open service comes before the refused port in the evidence
    assert section.index("tcp/5432 (db): open") < section.index("tcp/22: refused")


def test_attestation_names_full_hashes_the_operator_and_a_content_id() -> None:
    from dataclasses import replace

    from prodwall.report.findings_section import report_id

    r = results("dev", 3)
    meta = replace(r.meta, git_revision="a" * 40 + "+dirty",
                   run_by={"user": "root", "host": "vm", "operator": "Ada Auditor"})  # fmt: skip
    c = Combined((replace(r, meta=meta),))
    page = html.render(c)
    assert "ab" * 32 in page  # the inventory sha256, whole
    assert "a" * 40 + "+dirty" in page and "uncommitted changes" in page
    assert "operator: Ada Auditor" in page
    assert report_id(c) in page and report_id(c) == report_id(Combined((replace(r, meta=meta),)))
    assert report_id(c) != report_id(Combined((r,)))
    assert "id=signoff" in page and "Reviewed by (name)" in page
    assert "assessment period 2026-11-27T01:00:00Z to 2026-11-27T01:05:00Z" in page


def test_an_active_waiver_nothing_used_is_flagged() -> None:
    from dataclasses import replace

    r = results("dev", 3, outcomes=[Outcome.BLOCKED] * 3)
    unused = {**r.waivers[0], "id": "W-STALE", "days_left": 64, "approved": "2026-10-01"}
    page = html.render(Combined((replace(r, waivers=(unused,)),)))
    assert "active, UNUSED: review or remove" in page
    assert "(64 days left)" in page and "approved 2026-10-01" in page


def test_merged_bundle_carries_each_run_with_its_captures_and_chains_manifests(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from prodwall.report.manifest import sha256_file

    folders = []
    for vantage, seed in (("dev", 1), ("test", 2)):
        r = results(vantage, 10, seed=seed)
        folder = tmp_path / vantage
        (folder / "evidence").mkdir(parents=True)
        pcap = folder / "evidence" / f"{vantage}-tcp.pcap"
        pcap.write_bytes(b"\xd4\xc3\xb2\xa1" + vantage.encode() * 10)
        first = replace(r.verdicts[0], evidence={
            **r.verdicts[0].evidence,
            "files": [{"file": f"evidence/{pcap.name}", "sha256": sha256_file(pcap)}]})  # fmt: skip
        r = replace(r, verdicts=(first, *r.verdicts[1:]))
        write_results(r, folder / "results.json")
        write_bundle(Combined((r,)), folder)
        folders.append(folder)
    code = main(["merge", *map(str, folders), "-o", str(tmp_path / "m")])
    assert code == 1
    merged = tmp_path / "m"
    for n, vantage in ((1, "dev"), (2, "test")):
        inner = merged / "runs" / f"0{n}-{vantage}"
        assert (inner / "evidence" / f"{vantage}-tcp.pcap").is_file()
        assert (inner / "manifest.json").is_file() and (inner / "results.json").is_file()
    page = (merged / "report.html").read_text()
    link = '<a href="runs/01-dev/evidence/dev-tcp.pcap">runs/01-dev/evidence/dev-tcp.pcap</a>'
    assert f"capture: {link} sha256" in page
    outer = json.loads((merged / "manifest.json").read_text())["files"]
    assert "runs/01-dev/manifest.json" in outer and "runs/02-test/evidence/test-tcp.pcap" in outer
    assert verify(merged).ok
    # a capture changed inside the merged bundle: both manifests say so, by its path
    (merged / "runs" / "01-dev" / "evidence" / "dev-tcp.pcap").write_bytes(b"forged")
    checked = verify(merged)
    assert not checked.ok
    assert checked.changed.count("runs/01-dev/evidence/dev-tcp.pcap") == 2


def test_oscal_validates_against_nist_metaschema_and_links_what_it_names() -> None:
    """Checked by the `oscal` package's validator, which carries NIST's published support
    files for every OSCAL release (structure, types, allowed values, cardinality)."""
    import logging

    oscal_lib = pytest.importorskip("oscal")
    logging.disable(logging.CRITICAL)
    try:
        c = _combined()
        text = oscal.render(c, {"merged.json": "ab" * 32})
        checked = oscal_lib.AssessmentResults.loads(text)
        assert checked.is_valid, checked.validation_errors[:5]
        broken = json.loads(text)
        broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = (
            "maybe"
        )
        assert not oscal_lib.AssessmentResults.loads(json.dumps(broken)).is_valid
    finally:
        logging.disable(logging.NOTSET)
    doc = json.loads(text)["assessment-results"]
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    assert doc["import-ap"]["href"][1:] in resources  # the plan it imports exists
    assert any(r.get("rlinks", [{}])[0].get("href") == "merged.json" for r in resources.values())
    result = doc["results"][0]
    targets = {f["target"]["target-id"] for f in result["findings"]}
    assert "sc-7.5_smt" in targets and not {"sc-7.5", "ac-4"} & targets
    frameworks = {p["name"] for f in result["findings"] for p in f.get("props", [])}
    assert {"pci-dss-4.0.1-requirement", "iso-27001-2022-control", "soc2-2017-criterion"} <= (
        frameworks
    )
    assert all(o["subjects"] for o in result["observations"])
    risky = [f for f in result["findings"] if f.get("related-risks")]
    assert risky and all(r["remediations"] for r in result["risks"])
    # the uuid follows the content: same content, same uuid; other content, another
    assert json.loads(oscal.render(_combined()))["assessment-results"]["uuid"] == doc["uuid"]
    other = Combined((results("dev", 10, seed=9),))
    assert json.loads(oscal.render(other))["assessment-results"]["uuid"] != doc["uuid"]
