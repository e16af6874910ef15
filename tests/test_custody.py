"""The chain of custody, attacked: links, special files, nested forgeries, two truths in
one folder, replays, stale nights, hostile names and keys. Each through the CLI."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import stat
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bundle_refs import dangling
from conftest import run_cli
from prodwall.cli import main
from prodwall.report.bundle import write_bundle
from prodwall.report.bundlefs import BundleError, staged
from prodwall.report.combined import Combined
from prodwall.report.junit import render as junit_render
from prodwall.report.keys import keygen
from prodwall.results import Results, write_results
from prodwall.verdicts import Outcome
from report_data import WAIVERS, ran_hours_ago, results

B, R = Outcome.BLOCKED, Outcome.REACHABLE


def _when(r: Results, hours_ago: float) -> Results:
    """The run as if it ran `hours_ago`, with one active waiver."""
    return ran_hours_ago(dataclasses.replace(r, waivers=(WAIVERS[0],)), hours_ago)


def _run(folder: Path, r: Results, pcap: bool = True) -> Path:
    """What `prodwall run` leaves: results, a capture the results cite, a signed bundle."""
    if pcap:
        (folder / "evidence").mkdir(parents=True)
        cap = folder / "evidence" / f"{r.meta.vantage.name}-sweeps.pcap"
        cap.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(range(40)))
        digest = hashlib.sha256(cap.read_bytes()).hexdigest()
        first = dataclasses.replace(r.verdicts[0], evidence={
            **r.verdicts[0].evidence, "files": [{"file": f"evidence/{cap.name}",
                                                 "sha256": digest}]})  # fmt: skip
        r = dataclasses.replace(r, verdicts=(first, *r.verdicts[1:]))
    write_results(r, folder / "results.json")
    write_bundle(Combined((r,)), folder)
    return folder


def _signed_by(folder: Path, r: Results, key: Path) -> Path:
    """A run folder signed by a key of the test's own (not the suite's trusted one)."""
    write_results(r, folder / "results.json")
    write_bundle(Combined((r,)), folder, signing_key=key)
    return folder


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    dev = _run(tmp_path / "dev", _when(results("dev", 6, outcomes=[R, B, B]), 3))
    test = _run(tmp_path / "test", _when(results("test", 6, seed=2, outcomes=[B, B]), 3))
    return dev, test


def _clean(done: object) -> None:
    assert "Traceback" not in getattr(done, "stderr", "") + getattr(done, "stdout", "")


# --- links and special files ------------------------------------------------------------


def test_a_link_in_a_run_folder_is_refused_never_copied(
    two_runs: tuple[Path, Path], tmp_path: Path, signing_key: Path
) -> None:
    dev, test = two_runs
    (dev / "evidence" / "x.pcap").symlink_to(signing_key)  # the signer's private key
    done = run_cli("merge", str(dev), str(test), "-o", str(tmp_path / "m"))
    _clean(done)
    assert done.returncode == 2 and "x.pcap is a symbolic link" in done.stderr
    assert not (tmp_path / "m").exists()
    assert not [p for p in tmp_path.iterdir() if ".prodwall-partial-" in p.name]
    # even read as unverified, a link is never followed into the bundle
    done = run_cli("merge", str(dev), str(test), "-o", str(tmp_path / "m"), "--allow-unverified")
    assert done.returncode == 2 and "refused to copy" in done.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("link", ["dev-zero", "loop"])
def test_a_link_to_dev_zero_or_to_itself_ends_in_a_clear_refusal(
    two_runs: tuple[Path, Path], tmp_path: Path, link: str
) -> None:
    dev, test = two_runs
    if link == "dev-zero":
        (dev / "evidence" / "big.pcap").symlink_to("/dev/zero")
    else:
        (dev / "loop").symlink_to(".")
    done = run_cli("merge", str(dev), str(test), "-o", str(tmp_path / "m"), "--allow-unverified")
    _clean(done)
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("kind", ["symlinked-dir", "fifo", "dangling", "listed-through-link"])
def test_verify_names_every_entry_that_is_not_a_regular_file(
    two_runs: tuple[Path, Path], tmp_path: Path, kind: str
) -> None:
    dev, _ = two_runs
    if kind == "symlinked-dir":
        (dev / "more").symlink_to(tmp_path / "test")
    elif kind == "fifo":
        os.mkfifo(dev / "evidence" / "pipe.pcap")
    elif kind == "dangling":
        (dev / "gone.json").symlink_to(tmp_path / "nowhere")
    else:  # a listed file swapped for a link to an identical copy outside the folder
        real = dev / "evidence" / "dev-sweeps.pcap"
        outside = tmp_path / "outside.pcap"
        outside.write_bytes(real.read_bytes())
        real.unlink()
        real.symlink_to(outside)
    done = run_cli("verify", str(dev))
    _clean(done)
    assert done.returncode == 1 and "NOT REGULAR" in done.stdout and "NOT intact" in done.stdout
    if kind == "listed-through-link":  # never read through the link: the file is missing
        assert "MISSING  evidence/dev-sweeps.pcap" in done.stdout


# --- nested signatures ------------------------------------------------------------------


def _forge_nested(merged: Path) -> Path:
    """Edit a copied run (reachable -> blocked), re-hash its manifest, keep its old .sig."""
    inner = next((merged / "runs").glob("*-dev"))
    text = (inner / "results.json").read_text()
    assert '"reachable"' in text
    (inner / "results.json").write_text(text.replace('"reachable"', '"blocked"'))
    manifest = json.loads((inner / "manifest.json").read_text())
    manifest["files"]["results.json"] = hashlib.sha256(
        (inner / "results.json").read_bytes()).hexdigest()  # fmt: skip
    (inner / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return inner


def test_a_forged_nested_run_fails_verify_and_merge(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    dev, test = two_runs
    assert run_cli("merge", str(dev), str(test), "-o", str(tmp_path / "m")).returncode == 1
    assert run_cli("verify", str(tmp_path / "m")).returncode == 0  # signed, trusted, intact
    inner = _forge_nested(tmp_path / "m")
    # the outer manifest still lists the old hash, so a re-hash of it too
    outer = json.loads((tmp_path / "m" / "manifest.json").read_text())
    for name in ("results.json", "manifest.json"):
        rel = f"runs/{inner.name}/{name}"
        outer["files"][rel] = hashlib.sha256((inner / name).read_bytes()).hexdigest()
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(outer, indent=1, sort_keys=True))
    done = run_cli("verify", str(tmp_path / "m"))
    _clean(done)
    assert done.returncode == 1 and f"runs/{inner.name}: signature INVALID" in done.stdout
    # the forged run alone, and merging it: refused
    alone = run_cli("merge", str(inner), "-o", str(tmp_path / "again"))
    assert alone.returncode == 2 and "does not verify" in alone.stderr
    assert not (tmp_path / "again").exists()


def test_a_run_signed_by_an_unknown_key_is_refused_or_marked(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    _, test = two_runs
    mallory, _ = keygen(tmp_path / "mallory")
    other = _signed_by(tmp_path / "other", _when(results("dev", 6, outcomes=[B, B]), 2), mallory)
    done = run_cli("merge", str(other), str(test), "-o", str(tmp_path / "m"))
    assert done.returncode == 2 and "a key that is not trusted" in done.stderr
    done = run_cli("merge", str(other), str(test), "-o", str(tmp_path / "m"),
                   "--allow-unverified", "--format", "json")  # fmt: skip
    doc = json.loads(done.stdout)
    assert done.returncode == 3 and doc["overall"] == "blocked" and doc["unverified"]
    page = (tmp_path / "m" / "report.html").read_text()
    assert page.index("UNVERIFIED INPUT") < page.index("id=attestation")  # first screen
    # a bundle holding an unverified run does not verify itself: refused on re-render,
    # and read anyway it keeps the mark; verify names the inner run's untrusted signer
    assert run_cli("report", str(tmp_path / "m"), "-o", str(tmp_path / "r2")).returncode == 2
    again = run_cli("report", str(tmp_path / "m"), "-o", str(tmp_path / "r2"),
                    "--allow-unverified")  # fmt: skip
    assert again.returncode == 3 and "UNVERIFIED INPUT" in (tmp_path / "r2" / "report.html"
                                                            ).read_text()  # fmt: skip
    verified = run_cli("verify", str(tmp_path / "m"))
    assert verified.returncode == 1 and "a key that is not trusted" in verified.stdout


# --- one truth per folder ---------------------------------------------------------------


def test_merge_into_an_input_is_refused_and_force_replaces_it_whole(
    two_runs: tuple[Path, Path],
) -> None:
    dev, test = two_runs
    done = run_cli("merge", str(dev), str(test), "-o", str(dev))
    assert done.returncode == 2 and "is not empty" in done.stderr
    assert (dev / "results.json").exists() and not (dev / "merged.json").exists()
    done = run_cli("merge", str(dev), str(test), "-o", str(dev), "--force")
    assert done.returncode == 1, done.stderr
    assert (dev / "merged.json").exists() and not (dev / "results.json").exists()
    assert run_cli("verify", str(dev)).returncode == 0
    assert dangling(dev) == []
    # ci and the report now read the same single truth
    assert run_cli("ci", str(dev)).returncode == 1


def test_out_that_is_a_file_or_unwritable_is_a_clear_error(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    dev, _ = two_runs
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile, afile / "below", Path("/proc/prodwall-nope")):
        for cmd in ("report", "merge"):
            done = run_cli(cmd, str(dev), "-o", str(out), "--format", "json")
            _clean(done)
            assert done.returncode == 2 and json.loads(done.stdout)["error"]["exit_code"] == 2
    done = run_cli("keygen", "-o", str(afile / "k"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for out in (afile / "p.pyz", Path("/proc/prodwall-nope.pyz")):
        done = run_cli("zipapp", "-o", str(out), "--format", "json", timeout=300)
        _clean(done)
        assert done.returncode == 2 and json.loads(done.stdout)["error"]["exit_code"] == 2
    # run refuses its --out before anything is sent (the plan is checked first)
    lab = Path(__file__).resolve().parents[1] / "inventories" / "lab.yaml"
    done = run_cli("run", "-i", str(lab), "--vantage", "dev", "-o", str(afile))
    _clean(done)
    assert done.returncode == 2 and "is a file, not a folder" in done.stderr


def test_an_interrupted_bundle_leaves_nothing_and_a_late_writer_is_refused(
    tmp_path: Path, two_runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev, test = two_runs
    import prodwall.report.bundle as bundle

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle, "write_manifest", interrupted)
    assert main(["merge", str(dev), str(test), "-o", str(tmp_path / "m")]) == 2
    assert not (tmp_path / "m").exists()
    assert not [p for p in tmp_path.iterdir() if ".prodwall-partial-" in p.name]
    # two writers of one --out: the second to finish is refused, the first stays whole
    out = tmp_path / "shared"
    with pytest.raises(BundleError, match="another bundle appeared"), staged(out) as first:
        (first / "a").write_text("first")
        with staged(out) as second:
            (second / "b").write_text("second")
    # the writer that finished first stays whole; the other left nothing behind
    assert sorted(p.name for p in out.iterdir()) == ["b"]
    assert not [p for p in tmp_path.iterdir() if ".prodwall-partial-" in p.name]


# --- ci judges tonight ------------------------------------------------------------------


def test_ci_refuses_a_replay_a_swap_and_a_stale_night(tmp_path: Path) -> None:
    last = _run(tmp_path / "last", _when(results("dev", 4, outcomes=[R, B]), 20), pcap=False)
    tonight = _run(tmp_path / "tonight", _when(results("dev", 4, outcomes=[R, B]), 2),
                   pcap=False)  # fmt: skip
    assert run_cli("ci", str(tonight), "--previous", str(last)).returncode == 0
    replay = run_cli("ci", str(tonight), "--previous", str(tonight))
    assert replay.returncode == 2 and "is not older" in replay.stderr
    swap = run_cli("ci", str(last), "--previous", str(tonight))
    assert swap.returncode == 2 and "is not older" in swap.stderr
    old = _run(tmp_path / "old", _when(results("dev", 4, outcomes=[R, B]), 48 * 24),
               pcap=False)  # fmt: skip
    stale = run_cli("ci", str(old))
    assert stale.returncode == 2 and "--max-age 36 h" in stale.stderr
    assert run_cli("ci", str(old), "--max-age", str(49 * 24)).returncode == 1


def test_ci_recomputes_waiver_expiry_against_today(tmp_path: Path) -> None:
    # active the night it ran, expired since
    ended = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    waiver = {**WAIVERS[0], "expires": ended, "state": "active"}
    r = dataclasses.replace(_when(results("dev", 2, outcomes=[B, B]), 2), waivers=(waiver,))
    night = _run(tmp_path / "night", r, pcap=False)
    done = run_cli("ci", str(night), "--max-age", "1000")
    assert done.returncode == 1 and "expired waiver W-1" in done.stdout


# --- untrusted content ------------------------------------------------------------------


def test_junit_stays_well_formed_with_every_control_character(tmp_path: Path) -> None:
    name = "dev" + "".join(map(chr, range(32))) + "\x7f"
    r = results(name, 3, outcomes=[R, B, B])
    v = dataclasses.replace(r.verdicts[0], findings=("".join(map(chr, range(32))),))
    xml = junit_render(Combined((dataclasses.replace(r, verdicts=(v, *r.verdicts[1:])),)))
    root = ET.fromstring(xml.encode())
    assert root.find(".//testsuite") is not None and "\\x1b" in xml


def test_control_characters_in_an_inventory_are_refused_with_file_and_line(
    tmp_path: Path,
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text('version: 1\nname: ok\nenvironments:\n  "prod\\e]0;owned\\a":\n    tier: x\n')
    done = run_cli("validate", str(inv))
    assert done.returncode == 2 and "\x1b" not in done.stderr
    assert f"{inv}:4: environments.prod\\x1b]0;owned\\x07: holds the control" in done.stderr


def test_terminal_output_never_carries_raw_escape_sequences(
    two_runs: tuple[Path, Path], tmp_path: Path
) -> None:
    evil = tmp_path / "evil\x1b[2Jname"
    done = run_cli("verify", str(evil))
    assert done.returncode == 2 and "\x1b" not in done.stderr and "\\x1b[2J" in done.stderr


# --- keys -------------------------------------------------------------------------------


def test_keygen_never_overwrites_never_follows_a_link_and_is_private_from_birth(
    tmp_path: Path, two_runs: tuple[Path, Path], signing_key: Path
) -> None:
    done = run_cli("keygen", "-o", str(tmp_path / "ci"), "--name", "Night CI", "--role", "signer")
    assert done.returncode == 0
    key = tmp_path / "ci.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = run_cli("keygen", "-o", str(tmp_path / "ci"))
    assert again.returncode == 2 and "never overwrites" in again.stderr
    assert key.read_bytes() == before
    target = tmp_path / "victim"
    target.write_text("do not touch")
    (tmp_path / "linked.key").symlink_to(target)
    linked = run_cli("keygen", "-o", str(tmp_path / "linked"))
    assert linked.returncode == 2 and target.read_text() == "do not touch"
    # the name and role given at keygen are on the report's first screen, signed
    dev, _ = two_runs
    done = run_cli("report", str(dev), "-o", str(tmp_path / "r"), "--sign-key", str(key))
    assert done.returncode == 2 and "refused" in done.stderr  # dev's signer is not trusted
    done = run_cli("report", str(dev), "-o", str(tmp_path / "r"), "--sign-key", str(key),
                   "--trusted-keys", str(signing_key.with_suffix(".pub")))  # fmt: skip
    assert done.returncode == 1, done.stderr
    page = (tmp_path / "r" / "report.html").read_text()
    first = page.split("id=attestation")[0]
    assert "Night CI, signer" in first
    doc = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert doc["signer"] == {"name": "Night CI", "role": "signer"}
    raw = base64.b64decode(doc["signing_public_key"])
    assert len(raw) == 32


def test_names_in_a_bundle_cannot_start_a_line_of_their_own(two_runs: tuple[Path, Path]) -> None:
    dev, _ = two_runs
    (dev / "x\n::error title=forged::all blocked\n\x1b]0;t\x07").write_text("added")
    done = run_cli("verify", str(dev))
    assert done.returncode == 1
    assert not [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert "\x1b" not in done.stdout and "UNLISTED x\\x0a::error" in done.stdout


@pytest.mark.parametrize("special", ["dev-zero", "fifo"])
def test_a_results_file_that_is_a_device_or_a_fifo_is_refused_not_read(
    tmp_path: Path, special: str
) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    if special == "fifo":
        os.mkfifo(folder / "results.json")
    else:
        (folder / "results.json").symlink_to("/dev/zero")
    for args in (["report", str(folder), "-o", str(tmp_path / "o")], ["ci", str(folder)],
                 ["diff", str(folder), str(folder)]):  # fmt: skip
        done = run_cli(*args, "--allow-unverified", timeout=60)
        _clean(done)
        assert done.returncode == 2 and "not a regular file" in done.stderr, (args, done.stderr)


def test_a_run_key_vouched_for_by_the_trusted_merger_verifies_all_the_way_down(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    """A fleet host signs with a key made for one run; the runner verified it with that key
    and signed the merge: the merge's signer vouches for it, and nobody else has to."""
    _, test = two_runs
    run_key, run_pub = keygen(tmp_path / "host-run")
    r = _when(results("dev3-ws", 4, outcomes=[R, B]), 2)
    host = _signed_by(tmp_path / "host", r, run_key)
    nightly = tmp_path / "nightly"
    merged = nightly / "2026-night"
    done = run_cli("merge", str(host), str(test), "-o", str(merged), "--trusted-keys",
                   str(run_pub))  # fmt: skip
    assert done.returncode == 1, done.stderr
    said = run_cli("verify", str(merged))  # trusts only the suite's (the merger's) key
    assert said.returncode == 0, said.stdout
    assert "vouched for by the trusted outer signer" in said.stdout
    assert run_cli("report", str(merged), "-o", str(tmp_path / "again")).returncode == 1
    assert run_cli("history", str(nightly), "-o", str(tmp_path / "h")).returncode == 1
    # the vouch covers that key only: the same run re-signed by another key is refused
    other, _ = keygen(tmp_path / "other")
    inner = next((merged / "runs").glob("*-dev3-ws"))
    write_bundle(Combined((r,)), inner, signing_key=other)
    said = run_cli("verify", str(merged))
    assert said.returncode == 1 and "a key that is not trusted" in said.stdout


def test_verify_exit_3_intact_but_nobody_trusted_vouches(two_runs: tuple[Path, Path]) -> None:
    dev, _ = two_runs
    done = run_cli("verify", str(dev), env={"PRODWALL_SIGNING_KEY": ""})
    assert done.returncode == 3 and "NOT authenticated" in done.stdout
    assert "give --trusted-keys" in done.stdout


def test_a_cited_capture_that_is_gone_fails_verify_even_when_re_signed(
    two_runs: tuple[Path, Path],
) -> None:
    """The signer (or a bug) drops a capture the results cite and re-signs: the manifest
    is consistent, the evidence is not there."""
    from prodwall.report.manifest import write_manifest

    dev, _ = two_runs
    (dev / "evidence" / "dev-sweeps.pcap").unlink()
    write_manifest(dev)
    done = run_cli("verify", str(dev))
    assert done.returncode == 1
    assert "cites capture evidence/dev-sweeps.pcap" in done.stdout


def test_ci_with_an_unverified_input_can_never_pass(tmp_path: Path) -> None:
    r = _when(results("dev", 2, outcomes=[B, B]), 2)
    bare = tmp_path / "bare"
    write_results(r, bare / "results.json")  # no manifest, no signature
    assert run_cli("ci", str(bare)).returncode == 2
    done = run_cli("ci", str(bare), "--allow-unverified")
    assert done.returncode == 3 and "did not verify" in done.stderr + done.stdout


def test_run_refuses_a_non_empty_out_before_anything_is_sent(tmp_path: Path) -> None:
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "results.json").write_text("{}")
    lab = Path(__file__).resolve().parents[1] / "inventories" / "lab.yaml"
    done = run_cli("run", "-i", str(lab), "--vantage", "dev", "-o", str(out))
    _clean(done)
    assert done.returncode == 2 and "is not empty" in done.stderr and "--force" in done.stderr
    assert (out / "results.json").read_text() == "{}"  # the earlier bundle is untouched
