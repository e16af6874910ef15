"""Signatures cannot be stripped, swapped or worked around; the report says whether it is signed."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from conftest import run_cli
from prodwall.report.bundle import write_bundle
from prodwall.report.combined import Combined
from prodwall.report.manifest import keygen, verify
from report_data import results


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signed bundle, its signer's public key, and the private key."""
    key, pub = keygen(tmp_path / "signer")
    out = tmp_path / "run"
    (out / "evidence").mkdir(parents=True)
    (out / "evidence" / "dev-tcp-answers.pcap").write_bytes(bytes(range(256)))
    write_bundle(Combined((results("dev", 10),)), out, signing_key=key)
    return out, pub, key


def _verify(out: Path, pub: Path | None, env: dict[str, str] | None = None) -> tuple[int, str]:
    args = ["verify", str(out)] + (["--public-key", str(pub)] if pub else [])
    done = run_cli(*args, env=env)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout


def _rehash(out: Path, signed_flag: bool | None = False) -> None:
    """What an attacker who changed files does: rewrite the manifest to match."""
    manifest = out / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["files"] = {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("manifest.json", "manifest.sig")
    }
    if signed_flag is not None:
        doc["signed"] = signed_flag
    manifest.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def _tamper_results(out: Path) -> None:
    """Turn every reachable verdict of the folder's source of truth into blocked."""
    path = out / "merged.json"
    text = path.read_text()
    assert '"reachable"' in text
    path.write_text(text.replace('"reachable"', '"blocked"'))


def test_an_intact_signed_bundle_passes(signed: tuple[Path, Path, Path]) -> None:
    out, pub, _ = signed
    code, text = _verify(out, pub)
    assert code == 0 and "signature: valid, by SHA256:" in text and text.rstrip().endswith("intact")


def test_the_stripping_attack_fails_with_a_public_key(signed: tuple[Path, Path, Path]) -> None:
    """Change a file, rewrite the manifest as unsigned, delete the signature."""
    out, pub, _ = signed
    _tamper_results(out)
    _rehash(out, signed_flag=False)
    (out / "manifest.sig").unlink()
    code, text = _verify(out, pub)
    assert code == 1, text
    assert "signature: ABSENT, but a signed bundle was expected" in text and "NOT intact" in text
    # without a key the rewritten hashes match, but the report still states the hash of
    # the results it rendered: the edit shows
    code, text = _verify(out, None, env={"PRODWALL_SIGNING_KEY": ""})
    assert code == 1 and "the report does not render this data" in text
    assert "absent (unsigned bundle; give --trusted-keys" in text


def test_a_signature_by_another_key_fails(signed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    out, pub, _ = signed
    mallory, _mallory_pub = keygen(tmp_path / "mallory")
    _tamper_results(out)
    write_bundle(Combined((results("dev", 10),)), out, signing_key=mallory)  # re-signed by them
    code, text = _verify(out, pub)
    assert code == 1 and "INVALID" in text and "the manifest names key SHA256:" in text


@pytest.mark.parametrize(
    "attack",
    ["omit-a-file", "add-a-file", "rename-a-file", "garbage-signature", "no-manifest", "escape"],
)
def test_every_variation_fails(signed: tuple[Path, Path, Path], attack: str) -> None:
    out, pub, _ = signed
    pcap = out / "evidence" / "dev-tcp-answers.pcap"
    manifest = out / "manifest.json"
    if attack == "omit-a-file":
        doc = json.loads(manifest.read_text())
        del doc["files"]["evidence/dev-tcp-answers.pcap"]
        manifest.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        expect = "UNLISTED evidence/dev-tcp-answers.pcap"
    elif attack == "add-a-file":
        (out / "evidence" / "extra.pcap").write_bytes(b"\x00" * 24)
        expect = "UNLISTED evidence/extra.pcap"
    elif attack == "rename-a-file":
        pcap.rename(out / "evidence" / "renamed.pcap")
        expect = "MISSING  evidence/dev-tcp-answers.pcap"
    elif attack == "garbage-signature":
        (out / "manifest.sig").write_text(base64.b64encode(b"x" * 64).decode() + "\n")
        expect = "signature: INVALID"
    elif attack == "no-manifest":
        manifest.unlink()
        expect = "MANIFEST manifest.json is absent"
    else:  # a manifest that points outside the folder must not be followed
        doc = json.loads(manifest.read_text())
        doc["files"]["../../etc/hostname"] = "0" * 64
        manifest.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        expect = "a path outside the folder"
    code, text = _verify(out, pub)
    assert code == 1 and expect in text and "NOT intact" in text, text
    # the unsigned variants fail without a key too, by their hashes
    if attack in ("add-a-file", "rename-a-file", "no-manifest", "escape"):
        assert _verify(out, None)[0] == 1


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("verify", str(tmp_path / "nope"))
    assert done.returncode == 2 and "no such folder" in done.stderr


def test_the_first_screen_says_whether_the_bundle_is_signed_and_by_which_key(
    signed: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, pub, _ = signed
    page = (out / "report.html").read_text()
    first = page.split("id=attestation")[0]  # before the attestation: the first screen
    _, text = _verify(out, pub)
    fingerprint = text.split("signature: valid, by ")[1].split()[0]
    assert "id=integrity class=signed>Signed" in first and fingerprint in first
    unsigned = tmp_path / "unsigned"
    monkeypatch.delenv("PRODWALL_SIGNING_KEY")
    write_bundle(Combined((results("dev", 10),)), unsigned)
    assert "id=integrity class=unsigned>NOT signed" in (unsigned / "report.html").read_text()


def test_a_bad_signing_key_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    done = run_cli("report", str(tmp_path), "-o", str(tmp_path / "out"), "--sign-key", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_verify_json(signed: tuple[Path, Path, Path]) -> None:
    out, pub, _ = signed
    done = run_cli("verify", str(out), "--public-key", str(pub), "--format", "json")
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["intact"] is True and doc["signature_ok"] is True
    assert verify(out, pub).ok
