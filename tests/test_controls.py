"""The control catalogue is well-formed, every check names a control and every control a check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import REPO
from prodwall.controls import load_controls
from prodwall.errors import ControlsError
from prodwall.session import control_ids

CATALOGUE = REPO / "checks" / "controls.yaml"
CHECKS = REPO / "checks"


class _Collector:
    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items.extend(items)


def _collect_checks(tmp_path: Path) -> list[pytest.Item]:
    """Collect checks/ exactly as `prodwall run` does (lab inventory, no probe is run)."""
    collector = _Collector()
    code = pytest.main(
        [
            str(REPO / "checks"),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rootdir={REPO / 'checks'}",
            "--inventory",
            str(REPO / "inventories/example.yaml"),
            "--vantage",
            "dev-laptop",
        ],
        plugins=[collector],
    )
    assert code == 0, "collecting checks/ failed: a check without a valid control?"
    return collector.items


def test_every_check_has_a_control_and_every_control_a_check(tmp_path: Path) -> None:
    catalogue = load_controls(CATALOGUE)
    items = _collect_checks(tmp_path)
    assert items, "checks/ has no checks"
    used = {cid for item in items for cid in control_ids(item)}
    assert all(control_ids(item) for item in items)
    assert used <= set(catalogue), f"unknown controls: {used - set(catalogue)}"
    assert set(catalogue) <= used, f"controls with no check: {set(catalogue) - used}"


def test_check_without_control_fails_collection(tmp_path: Path) -> None:
    (tmp_path / "controls.yaml").write_text(CATALOGUE.read_text())
    (tmp_path / "test_x.py").write_text("def test_unmarked(prodwall):\n    pass\n")
    code = pytest.main(
        [
            str(tmp_path),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rootdir={tmp_path}",
            "--inventory",
            str(REPO / "inventories/example.yaml"),
            "--vantage",
            "dev-laptop",
        ]
    )
    assert code == pytest.ExitCode.USAGE_ERROR


@pytest.mark.parametrize(
    ("framework", "ref", "message"),
    [
        (
            "iso27001-2022",
            "A.8.35",
            "iso27001-2022: 'A.8.35' is not a requirement id of that framework (e.g. A.8.22)",
        ),
        ("nist-800-53r5", "SC7", "nist-800-53r5: 'SC7' is not a requirement id"),
        ("pci-dss-4.0.1", "13.1", "pci-dss-4.0.1: '13.1' is not a requirement id"),
        ("soc2", "CC6", "soc2: 'CC6' is not a requirement id"),
        (
            "cobit",
            "DSS05",
            "Input should be 'pci-dss-4.0.1', 'iso27001-2022', 'nist-800-53r5' or 'soc2'",
        ),
    ],
)
def test_malformed_reference_is_rejected(
    framework: str, ref: str, message: str, write_yaml: Callable[[str, str], Path]
) -> None:
    path = write_yaml(
        f"""
        NET-X-01:
          title: t
          why: w
          remediation: r
          severity: high
          family: routes
          references:
            {framework}: ["{ref}"]
        """,
        "controls.yaml",
    )
    with pytest.raises(ControlsError) as info:
        load_controls(path)
    text = str(info.value.problems[0])
    assert text.startswith(f"{path}:")
    assert message in text


def test_bad_control_id_is_rejected(write_yaml: Callable[[str, str], Path]) -> None:
    path = write_yaml(
        """
        net_x:
          title: t
          why: w
          remediation: r
          severity: high
          family: routes
          references: {soc2: [CC6.6]}
        """,
        "controls.yaml",
    )
    with pytest.raises(ControlsError, match="'net_x' is not a control id"):
        load_controls(path)


def test_every_mapped_requirement_has_a_title_and_every_control_a_remediation() -> None:
    from prodwall.controls import load_catalogue, not_automated

    catalogue = load_catalogue(CHECKS / "controls.yaml")
    untitled = [
        f"{cid}: {ref}" for cid, c in catalogue.items() for ref, t in c.titles.items() if not t
    ]
    assert untitled == [], "add these to checks/requirements.yaml"
    assert all(len(c.why) > 40 and len(c.remediation) > 40 for c in catalogue.values())
    gaps = not_automated(CHECKS / "requirements.yaml")
    assert {(g["framework"], g["requirement"]) for g in gaps} == {
        ("pci-dss-4.0.1", "6.5.5"),
        ("pci-dss-4.0.1", "6.5.6"),
    }
    mapped = {
        (fw, r) for c in catalogue.values() for fw, refs in c.references.items() for r in refs
    }
    # what this tool exists for is mapped (PCI DSS 6.5.3/6.5.4: separation of environments)
    assert {("pci-dss-4.0.1", "6.5.3"), ("pci-dss-4.0.1", "6.5.4")} <= mapped
    assert ("pci-dss-4.0.1", "1.4.5") in mapped and ("nist-800-53r5", "SC-22") in mapped
    assert not [g for g in gaps if (g["framework"], g["requirement"]) in mapped]
