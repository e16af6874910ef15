"""`kubectl://POD[?namespace=NS&container=C]`: `kubectl exec -i` into the pod."""

from __future__ import annotations

from typing import Any

from prodwall.inventory.model import Vantage
from prodwall.vantages.backends.base import Launch, Transport

FLAGS = (("--namespace", "namespace"), ("-c", "container"), ("--kubeconfig", "kubeconfig"),
         ("--context", "context"))  # fmt: skip


class Kubectl(Transport):
    NAME = "kubectl"

    def through(self, backend: Any, command: list[str], python: str, vantage: Vantage) -> Launch:
        extra = [part for flag, attr in FLAGS if getattr(backend, attr, None)
                 for part in (flag, str(getattr(backend, attr)))]  # fmt: skip
        return Launch(["kubectl", "exec", "-i", *extra, backend.name, "--", *command], python)
