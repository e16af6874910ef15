"""A failed `lab up` keeps its logs where its message says (#26): down() removes the lab's
folder, so the logs are copied out first and the message points at the copy. The lab is
not touched here: the build, `down` and `status` are stand-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodwall.lab import manager
from prodwall.lab.build import LabError


def test_a_failed_lab_up_keeps_the_logs_its_message_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab_dir = tmp_path / "prodwall-lab"
    monkeypatch.setattr(manager, "LAB_DIR", lab_dir)
    monkeypatch.setattr(manager, "KEPT_LOGS", tmp_path / "kept")
    monkeypatch.setattr(manager, "require_root", lambda: None)
    monkeypatch.setattr(manager, "status", lambda: manager.LabStatus(None, (), {}))
    removed: list[bool] = []

    def down(progress: object = None) -> list[str]:
        import shutil

        shutil.rmtree(lab_dir, ignore_errors=True)  # what the real one does to the folder
        removed.append(True)
        return []

    def build(profile: str, progress: object) -> None:
        (lab_dir / "logs").mkdir(parents=True)
        (lab_dir / "logs" / "sshd-dev-ws.log").write_text("sshd: bind failed\n")
        raise LabError(f"lab services did not start: sshd-dev-ws (see {lab_dir / 'logs'})")

    monkeypatch.setattr(manager, "down", down)
    monkeypatch.setattr(manager, "_build", build)
    with pytest.raises(LabError) as failed:
        manager.up("sealed")
    assert removed and not lab_dir.exists()  # nothing half-built stays behind...
    said = str(failed.value)
    kept = Path(said.split("(see ")[1].rstrip(")"))
    assert kept.is_relative_to(tmp_path / "kept")
    assert (kept / "sshd-dev-ws.log").read_text() == "sshd: bind failed\n"  # ...but the logs do


def test_the_readiness_deadline_tolerates_a_loaded_machine() -> None:
    """A deadline for failing, not a wait: a loaded machine starts services slowly."""
    assert manager.READY_TIMEOUT_S >= 60
