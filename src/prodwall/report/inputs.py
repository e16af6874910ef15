"""Every bundle a command reads is verified before anything of it is used.

`report`, `merge`, `diff`, `history` and `ci` read results someone else wrote. Each
input must be a bundle whose files match its manifest and whose manifest is signed by a
key the reader trusts (or vouched for by one). Anything else is refused (exit 2), or,
with --allow-unverified, read and marked UNVERIFIED on the report's first screen with
an exit of at least 3: it can never make a run look clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prodwall.errors import InputError, Problem
from prodwall.report.keys import Trust
from prodwall.report.manifest import MANIFEST
from prodwall.report.verify import Verification, verify

FIX = (
    "give the signer's public key with --trusted-keys KEY.pub (or $PRODWALL_TRUSTED_KEYS), "
    "or --allow-unverified to read it marked UNVERIFIED"
)


@dataclass(frozen=True)
class CheckedInput:
    given: Path
    folder: Path | None  # the bundle folder that was verified, if there is one
    verification: Verification | None
    reason: str  # why it is not verified, in words ("" when it is)

    @property
    def verified(self) -> bool:
        return not self.reason

    @property
    def signing_key(self) -> str | None:
        """The fingerprint that signed it, as verified (what an outer manifest vouches)."""
        v = self.verification
        return v.signer.split(" ")[0] if v is not None and v.authenticated and v.signer else None


def bundle_folder(path: Path) -> Path | None:
    """The bundle a path belongs to: a folder, or the folder of its results/merged file."""
    if path.is_dir():
        return path
    if path.name in ("results.json", "merged.json") and (path.parent / MANIFEST).exists():
        return path.parent
    return None


def check_one(path: Path, trust: Trust) -> CheckedInput:
    if not path.exists():
        return CheckedInput(path, None, None, "no such file or folder")
    folder = bundle_folder(path)
    if folder is None:
        return CheckedInput(path, None, None, "a bare results file: no manifest, no signature")
    result = verify(folder, trust)
    if result.authenticated:
        return CheckedInput(path, folder, result, "")
    if not result.ok:
        said = "; ".join(result.faults()[:8])
        return CheckedInput(path, folder, result, f"does not verify: {said}")
    return CheckedInput(path, folder, result, f"not signed by a trusted key ({result.signature})")


def check_inputs(paths: list[Path], trust: Trust, allow_unverified: bool) -> list[CheckedInput]:
    """Verify each input; refuse (InputError, exit 2) what fails unless allowed."""
    checked = [check_one(p, trust) for p in paths]
    refused = [c for c in checked if not c.verified]
    if refused and not allow_unverified:
        raise InputError(
            [
                Problem(str(c.given), None, "", f"refused: {_one_line(c.reason)}", FIX)
                for c in refused
            ]
        )
    return checked


def unverified_marks(checked: list[CheckedInput]) -> tuple[str, ...]:
    return tuple(f"{c.given}: {_one_line(c.reason)}" for c in checked if not c.verified)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:600]
