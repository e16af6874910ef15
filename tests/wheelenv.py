"""prodwall as a user gets it: the wheel built from this tree, installed in a fresh venv
outside the repository, run from a folder that holds no checks/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def build(root: Path) -> Path:
    """Build the wheel and a fresh venv with it installed; return the venv's bin/."""
    wheels, venv = root / "wheels", root / "venv"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w",
                    str(wheels)], check=True, capture_output=True, timeout=600)  # fmt: skip
    (wheel,) = wheels.glob("prodwall-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=900)  # fmt: skip
    return venv / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything pointing at this tree or its venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}  # fmt: skip
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(REPO)))  # fmt: skip
    return {**env, **extra}
