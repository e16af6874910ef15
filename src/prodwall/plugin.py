"""pytest plugin: options, the control marker, session fixtures, results JSON.

Inert unless --inventory is given, so installing prodwall does not change
any other pytest suite.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prodwall.controls import load_catalogue
from prodwall.errors import ProdwallError
from prodwall.families.registry import registry
from prodwall.inventory import load_inventory
from prodwall.planning import build_plan, fleet_plan, runner_plan
from prodwall.session import (
    VERDICT_PROPERTY,
    ProdwallRun,
    control_ids,
    verdict_from_json,
    verdict_json,
)
from prodwall.verdicts import Outcome, Verdict

RUN_KEY = pytest.StashKey[ProdwallRun]()
NO_TARGETS = "no-targets"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("prodwall", "prodwall isolation checks")
    group.addoption("--inventory", help="inventory YAML file; turns the prodwall checks on")
    group.addoption("--vantage", help="vantage name from the inventory to probe from")
    group.addoption("--results-json", help="write the run's results JSON here")
    group.addoption("--evidence-dir", help="where probe families write capture files")
    group.addoption("--controls", help="control catalogue (default: controls.yaml beside checks)")
    group.addoption("--max-probes", type=int, help="lower the inventory's probe cap for this run")
    group.addoption(
        "--rate-share",
        type=int,
        default=1,
        help="one of N vantages sending at once: a shared probing rate is divided by N",
    )
    group.addoption(
        "--from-runner",
        action="store_true",
        help="run the proofs that read from the runner itself (the cloud configuration, "
        "through audit roles) instead of a vantage's probes",
    )
    group.addoption(
        "--inventory-label",
        help="the inventory's name in the results when --inventory is a pipe (set by prodwall run)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "control(*ids): control ids a check gives evidence for")
    if not hasattr(config, "workerinput"):  # the process that writes the results
        collector = VerdictCollector()
        config.stash[COLLECTOR_KEY] = collector
        config.pluginmanager.register(collector, "prodwall-verdict-collector")
    inventory = config.getoption("--inventory", None)
    if not inventory:
        return
    vantage = config.getoption("--vantage")
    hosts = getattr(config.option, "hosts", None)  # testinfra's --hosts: a fleet run
    from_runner = bool(config.getoption("--from-runner"))
    chosen = [bool(vantage), bool(hosts), from_runner]
    if not any(chosen):
        raise pytest.UsageError(
            "--inventory needs --vantage NAME (a vantage of the inventory), testinfra's "
            "--hosts for host checks across hosts, or --from-runner for the cloud "
            "configuration proof"
        )
    if sum(chosen) > 1:
        raise pytest.UsageError("give one of --vantage, --hosts and --from-runner")
    if hosts:
        from prodwall.vantages.backends import ansible_beside_us

        ansible_beside_us()  # testinfra expands ansible:// groups while collecting
    controls_path = config.getoption("--controls") or _default_controls(config)
    today = datetime.now(UTC).date()
    try:
        controls = load_catalogue(Path(controls_path))
        worker = getattr(config, "workerinput", {})
        loaded = load_inventory(
            inventory,
            today=today,
            known_controls=controls,
            label=config.getoption("--inventory-label"),
            raw=base64.b64decode(worker[INVENTORY_BYTES]) if INVENTORY_BYTES in worker else None,
        )
        if vantage:
            plan = build_plan(
                loaded.inventory,
                vantage,
                today,
                config.getoption("--max-probes"),
                max(1, config.getoption("--rate-share") or 1),
            )
        elif from_runner:
            plan = runner_plan(loaded.inventory, today)
        else:
            plan = fleet_plan(loaded.inventory, str(hosts), today)
    except ProdwallError as exc:
        raise pytest.UsageError(str(exc)) from None
    evidence = config.getoption("--evidence-dir")
    from prodwall.controls import not_automated

    gaps = not_automated(Path(controls_path).with_name("requirements.yaml"))
    run = ProdwallRun(
        loaded,
        plan,
        controls,
        today,
        Path(evidence) if evidence else None,
        hosts_spec=hosts or "",
        sudo=bool(getattr(config.option, "sudo", False)),
        not_automated=tuple(gaps),
    )
    config.stash[RUN_KEY] = run
    if config.pluginmanager.hasplugin("html"):
        from prodwall.html_hooks import PytestHtmlHooks

        config.pluginmanager.register(PytestHtmlHooks(run), "prodwall-html-hooks")


INVENTORY_BYTES = "prodwall_inventory"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: each worker gets the inventory bytes the controller read (a pipe or
    stdin cannot be read twice, and nothing decrypted is written to disk for them)."""
    run = node.config.stash.get(RUN_KEY, None)
    if run is not None:
        node.workerinput[INVENTORY_BYTES] = base64.b64encode(run.loaded.raw).decode()


def _default_controls(config: pytest.Config) -> Path:
    for arg in config.args:
        path = Path(arg).resolve()
        for folder in (path, *path.parents):
            if (folder / "controls.yaml").is_file():
                return folder / "controls.yaml"
    raise pytest.UsageError("no controls.yaml found beside the checks; pass --controls FILE")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each family names the groups its checks run over (prod_network, prod_domain...)."""
    run = metafunc.config.stash.get(RUN_KEY, None)
    for name, groups in check_groups(run).items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, groups or [NO_TARGETS], scope="function")


def check_groups(run: ProdwallRun | None) -> dict[str, list[str]]:
    """parameter -> groups, the union over every registered family, in order."""
    out: dict[str, list[str]] = {}
    for family in registry().values():
        groups = family.groups(run.loaded.inventory) if run is not None else {}
        for name in family.parameters:
            out.setdefault(name, [])
            out[name] += [g for g in groups.get(name, []) if g not in out[name]]
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is None:
        return
    problems = []
    for item in items:
        ids = control_ids(item)
        if not ids:
            problems.append(f"{item.nodeid}: check has no @pytest.mark.control(ID)")
        problems += [
            f"{item.nodeid}: control {cid} is not in the control catalogue"
            for cid in ids
            if cid not in run.controls
        ]
    if problems:
        raise pytest.UsageError("checks without a valid control:\n  " + "\n  ".join(problems))


@pytest.fixture(scope="session")
def prodwall(pytestconfig: pytest.Config) -> ProdwallRun:
    run = pytestconfig.stash.get(RUN_KEY, None)
    if run is None:
        raise pytest.UsageError("prodwall checks need --inventory FILE --vantage NAME")
    return run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    run = item.config.stash.get(RUN_KEY, None)
    if run is not None and call.when == "call":
        _with_duration(run, report, call.duration)
    # Fail closed: a check that crashed before concluding still gets a verdict.
    if run is not None and report.failed and not run.has_verdict(item.nodeid):
        exc = call.excinfo.typename if call.excinfo else "unknown error"
        verdict = Verdict(
            item.nodeid,
            control_ids(item),
            _host_id(item) or run.vantage_name,
            _group(item),
            Outcome.INCONCLUSIVE,
            f"the check itself failed ({exc}) in its {report.when} phase",
        )
        run.record(verdict)
        report.user_properties.append((VERDICT_PROPERTY, verdict_json(verdict)))
    return report


def _with_duration(run: ProdwallRun, report: pytest.TestReport, seconds: float) -> None:
    """The check's own run time (the first check of a family includes its probing) into
    its verdict, for JUnit's time and the results."""
    props = []
    for name, value in report.user_properties:
        if name == VERDICT_PROPERTY:
            verdict = verdict_from_json(str(value))
            timed = replace(verdict, evidence={**verdict.evidence, "seconds": round(seconds, 3)})
            run.record(timed, update=True)
            value = verdict_json(timed)
        props.append((name, value))
    report.user_properties = props


class VerdictCollector:
    """Verdicts travel with their reports: under pytest-xdist a worker's verdicts reach
    the controller this way, which alone writes the results. Registered on that process
    only; it takes the verdict off each report, so junit.xml and pytest-html keep only
    the short properties."""

    def __init__(self) -> None:
        self.seen: list[Verdict] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = getattr(report, "user_properties", None)
        if not props:
            return
        kept = []
        for name, value in props:
            if name == VERDICT_PROPERTY:
                self.seen.append(verdict_from_json(str(value)))
            else:
                kept.append((name, value))
        report.user_properties = kept


COLLECTOR_KEY = pytest.StashKey[VerdictCollector]()


def _host_id(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    host = callspec.params.get("_testinfra_host") if callspec is not None else None
    run = item.config.stash.get(RUN_KEY, None)
    if host is None or run is None or not run.hosts_spec:
        return ""
    return str(host.backend.get_pytest_id())


def _group(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return item.name
    names = check_groups(item.config.stash.get(RUN_KEY, None))
    return next((str(callspec.params[n]) for n in names if n in callspec.params), item.name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    target = session.config.getoption("--results-json", None)
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: its verdicts went to the controller with its reports
    if run is not None:
        for verdict in session.config.stash[COLLECTOR_KEY].seen:
            run.record(verdict)
    if run is not None and target:
        run.write(Path(target))
