"""No input crashes prodwall or exhausts the machine: each hostile file is one line, exit 2.

Every case runs through the CLI in its own process, timed, with its peak memory
read from the kernel (wait4's rusage), as CI would run `prodwall validate`.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from prodwall.cli import main
from prodwall.errors import InputError
from prodwall.inventory import load_inventory

LAB = (REPO / "inventories" / "lab.yaml").read_bytes()
EXAMPLE = (REPO / "inventories" / "example.yaml").read_bytes()
MAX_RSS_MB = 100


def _validate(path: str, stdin: bytes | None = None) -> tuple[int, str, float]:
    """exit code, stderr and peak RSS in MB of `prodwall validate PATH` (its time is not
    asserted: a loaded machine is slow, and timings belong in benchmarks/)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodwall.cli", "validate", path],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _out, err = proc.communicate(stdin, timeout=300)  # a hang guard, not a timing
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"prodwall validate {path} hung")
    # the child is reaped by communicate(); its rusage is in RUSAGE_CHILDREN only as a max,
    # so measure it again in a child of its own that reports on itself
    return proc.returncode, err.decode(), _peak_rss(path, stdin)


# A small launcher forks and execs the CLI, and reports the child's own peak RSS: forked
# from pytest itself, the child's peak would start at pytest's size (every test module
# and what it imported), not prodwall's.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_RDWR)
    if sys.argv[2] == "devnull":
        os.dup2(fd, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execv(sys.executable, [sys.executable, "-m", "prodwall.cli", "validate", sys.argv[1]])
_, _, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
"""


def _peak_rss(path: str, stdin: bytes | None) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, path, "devnull" if stdin is None else "stdin"],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    return int(done.stdout.decode().strip().splitlines()[-1]) / 1024


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BOMB = b"""a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _case(tmp_path: Path, case: str) -> tuple[str, str]:
    """The path to validate, and what its one line must say."""
    lab = LAB.decode()
    if case in ("impossible-date", "month-13"):
        bad = "2027-02-30" if case == "impossible-date" else "2026-13-45"
        at = lab.index("expires: ") + len("expires: ")
        text = lab[:at] + bad + lab[lab.index("\n", at) :]
        line = text[:at].count("\n") + 1
        where = f":{line}: policy.allowed_flows[0].expires: '{bad}' is not a real date"
        return str(_write(tmp_path, "d.yaml", text.encode())), where
    if case == "nul-byte":
        return str(
            _write(tmp_path, "n.yaml", b"version: 1\nname: a\x00b\n")
        ), ":2: contains a NUL byte at byte offset 18"
    if case == "deep-nesting":
        data = b"version: 1\nname: " + b"[" * 20_000 + b"]" * 20_000 + b"\n"
        return str(
            _write(tmp_path, "deep.yaml", data)
        ), ":2: YAML syntax error, column 70: nested more than 64 levels deep"
    if case == "huge-integer":
        return str(
            _write(tmp_path, "i.yaml", b"version: " + b"9" * 5000 + b"\n")
        ), ":1: version: a 5,000-character number"
    if case == "alias-bomb":
        assert len(BOMB) < 430
        return str(
            _write(tmp_path, "bomb.yaml", BOMB)
        ), "YAML aliases expand to more than 50,000 values"
    if case in ("dev-zero", "dev-urandom"):
        link = tmp_path / f"{case}.yaml"
        link.symlink_to("/dev/" + case.split("-")[1])
        return str(link), ": is not a regular file (a device or socket)"
    if case == "fifo":
        fifo = tmp_path / "fifo.yaml"
        os.mkfifo(fifo)
        return str(fifo), ": is a named pipe with nothing writing to it"
    if case == "fifty-megabytes":
        path = tmp_path / "big.yaml"
        with path.open("wb") as f:
            f.write(b"version: 1\n# ")
            f.write(b"x" * 50_000_000)
        return str(path), ": is larger than the 4 MiB an inventory may be"
    if case == "latin-1":
        return str(
            _write(tmp_path, "l.yaml", "version: 1\nname: caf\xe9\n".encode("latin-1"))
        ), ":2: is not UTF-8: byte 0xe9 at byte offset 20"
    if case == "utf-16":
        return str(
            _write(tmp_path, "u.yaml", lab.encode("utf-16"))
        ), ":1: is UTF-16 encoded (byte order mark at byte offset 0)"
    if case == "utf-16-no-bom":
        return str(_write(tmp_path, "u.yaml", lab.encode("utf-16-le"))), "(it looks UTF-16 encoded)"
    if case == "python-tag":
        text = b"version: 1\nname: !!python/object/apply:os.system ['true']\n"
        return str(
            _write(tmp_path, "t.yaml", text)
        ), ":2: name: YAML tag '!!python/object/apply:os.system' is not allowed"
    if case == "control-character":
        return str(
            _write(tmp_path, "c.yaml", b"version: 1\nname: a\x01b\n")
        ), ":2: control character U+0001 at byte offset 18"
    if case == "directory":
        return str(tmp_path), ": is a directory"
    raise AssertionError(case)


CASES = [
    "impossible-date",
    "month-13",
    "nul-byte",
    "deep-nesting",
    "huge-integer",
    "alias-bomb",
    "dev-zero",
    "dev-urandom",
    "fifo",
    "fifty-megabytes",
    "latin-1",
    "utf-16",
    "utf-16-no-bom",
    "python-tag",
    "control-character",
    "directory",
]


@pytest.mark.parametrize("case", CASES)
def test_hostile_file_is_one_line_exit_2_and_small(tmp_path: Path, case: str) -> None:
    path, says = _case(tmp_path, case)
    code, err, rss = _validate(path)
    assert "Traceback" not in err
    assert code == 2, err
    problems = [line for line in err.splitlines() if line.startswith("  ")]
    assert len(problems) == 1, err
    assert problems[0].startswith(f"  {path}") and says in problems[0], err
    assert "Fix: " in problems[0], err
    assert rss < MAX_RSS_MB, f"{rss:.0f} MB"


def test_stdin_and_a_pipe_are_read_once(tmp_path: Path) -> None:
    code, err, _ = _validate("-", stdin=LAB)
    assert code == 0, err
    # process substitution, as `-i <(sops -d inv.yaml)`: a pipe with a writer
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'{sys.executable} -m prodwall.cli validate --format json <(cat "$0")',
            REPO / "inventories" / "lab.yaml",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    import hashlib
    import json

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"][0]["sha256"] == hashlib.sha256(LAB).hexdigest()


GOOD = """version: 1
name: t
environments:
  prod:
    tier: production
    networks: [198.19.0.0/24]
    dns_domains: [prod.example.test]
    hosts:
      db: &db
        addresses: [198.19.0.10]
        services: [postgres, syslog]
        names: [db.prod.example.test]
      db2:
        <<: *db
        addresses: [198.19.0.11]
  dev:
    tier: dev
    networks: [198.18.1.0/24]
vantages:
  laptop:
    location: local
    environment: dev
policy:
  waivers:
    - id: W-1
      control: NET-UDP-01
      target: db
      services: [syslog]
      ticket: RISK-1
      approver: Lee Marsh
      justification: legacy logging
      expires: {expires}
"""


def _good(tmp_path: Path, text: str | None = None, expires: date | None = None) -> Path:
    expires = expires or date.today() + timedelta(days=30)
    path = tmp_path / "inv.yaml"
    path.write_text((text or GOOD).replace("{expires}", expires.isoformat()))
    return path


def _known() -> set[str]:
    return set(yaml.safe_load((REPO / "checks" / "controls.yaml").read_text()))


def test_merge_keys_merge_and_an_explicit_key_wins(tmp_path: Path) -> None:
    inv = load_inventory(_good(tmp_path)).inventory
    db2 = inv.environments["prod"].hosts["db2"]
    assert [str(a) for a in db2.addresses] == ["198.19.0.11"]  # its own key wins
    assert [str(s) for s in db2.services] == [
        str(s) for s in inv.environments["prod"].hosts["db"].services
    ]
    twice = GOOD.replace(
        "        addresses: [198.19.0.11]",
        "        addresses: [198.19.0.11]\n        addresses: [198.19.0.12]",
    )
    with pytest.raises(InputError) as err:
        load_inventory(_good(tmp_path, twice))
    assert "duplicate key (first given on line 15)" in str(err.value)


def test_a_waiver_for_an_unknown_control_is_an_error_with_a_guess(tmp_path: Path) -> None:
    path = _good(tmp_path, GOOD.replace("NET-UDP-01", "NET-UPD-01"))
    with pytest.raises(InputError) as err:
        load_inventory(path, known_controls=_known())
    assert (
        f"{path}:26: policy.waivers[0].control: waiver W-1 names unknown control "
        "'NET-UPD-01'. Fix: did you mean 'NET-UDP-01'?"
    ) in str(err.value)
    done = subprocess.run(
        [sys.executable, "-m", "prodwall.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert done.returncode == 2 and "did you mean 'NET-UDP-01'?" in done.stderr


def test_a_blank_justification_is_an_error(tmp_path: Path) -> None:
    path = _good(tmp_path, GOOD.replace("justification: legacy logging", "justification: '   '"))
    with pytest.raises(InputError) as err:
        load_inventory(path)
    assert ":31: policy.waivers[0].justification: is blank (only whitespace)" in str(err.value)


def test_an_expiry_more_than_a_year_ahead_is_a_warning(tmp_path: Path) -> None:
    loaded = load_inventory(_good(tmp_path, expires=date.today() + timedelta(days=400)))
    assert any("more than a year ahead" in n for n in loaded.notices)
    assert not load_inventory(_good(tmp_path)).notices


def test_a_production_domain_declared_elsewhere_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    networks: [198.18.1.0/24]",
        "    networks: [198.18.1.0/24]\n    dns_domains: [prod.example.test]",
    )
    with pytest.raises(InputError) as err:
        load_inventory(_good(tmp_path, text))
    assert (
        "DNS domain 'prod.example.test' of non-production 'dev' is also a production domain "
        "of 'prod'" in str(err.value)
    )


# --- property: whatever the bytes, exit 0 or 2, never a traceback, bounded ---------------


def _check_bounded(data: bytes, tmp_path: Path) -> None:
    """`validate`, and `plan` from every vantage, as the CLI runs them: exit 0 or 2, bounded."""
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
            codes = [main(["validate", str(path)])]
            if codes[0] == 0:
                for vantage in load_inventory(path).inventory.vantages:
                    codes.append(main(["plan", "-i", str(path), "--vantage", vantage, "-q"]))
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert set(codes) <= {0, 2}, err.getvalue()
    assert peak < 100 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


SEEDS = st.sampled_from([LAB, EXAMPLE])


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(SEEDS))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end] * draw(st.integers(1, 4))
    return bytes(data)


JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
    | st.sampled_from(
        ["198.19.0.0/0", "::/0", "::ffff:8.8.8.8", "2027-02-30", "tcp/0", "-1", "1-99999"]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def structure_mutations(draw: st.DrawFn) -> bytes:
    doc = yaml.safe_load(draw(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        node: object = doc
        path: list[object] = []
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            key = draw(
                st.sampled_from(
                    sorted(node, key=str) if isinstance(node, dict) else list(range(len(node)))
                )
            )
            path.append(key)
            node = node[key]  # type: ignore[index]
        if not path:
            continue
        parent: object = doc
        for key in path[:-1]:
            parent = parent[key]  # type: ignore[index]
        parent[path[-1]] = draw(JUNK)  # type: ignore[index]
    return yaml.safe_dump(doc, sort_keys=False).encode()


FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=byte_mutations())
def test_mutated_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    _check_bounded(data, tmp_path)


@FUZZ
@given(data=structure_mutations())
def test_mutated_structure_never_crashes(tmp_path: Path, data: bytes) -> None:
    _check_bounded(data, tmp_path)


def test_the_cli_turns_fuzzed_input_into_exit_0_or_2(
    tmp_path: Path, write_bytes: Callable[..., Path] | None = None
) -> None:
    """A few mutated files through the real CLI: the process never ends with a traceback."""
    import random

    rng = random.Random(7)
    for i in range(6):
        data = bytearray(LAB)
        for _ in range(5):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = _write(tmp_path, f"f{i}.yaml", bytes(data))
        code, err, _ = _validate(str(path))
        assert code in (0, 2) and "Traceback" not in err, err


@pytest.mark.parametrize(("depth", "refused"), [(6, False), (64, False), (65, True), (70, True)])
def test_nesting_is_bounded_at_64_levels_in_block_and_flow_style(
    tmp_path: Path, depth: int, refused: bool
) -> None:
    """The composer's own bound, before it recurses, whatever libyaml would allow."""
    from prodwall.yaml_source import YamlLoadError, parse_yaml

    flow = "x: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
    block = "".join(f"{'  ' * k}k{k}:\n" for k in range(depth - 1)) + "  " * (depth - 1) + "v\n"
    for text in (flow, block):
        if refused:
            with pytest.raises(YamlLoadError, match="nested more than 64 levels deep"):
                parse_yaml(text.encode(), "n.yaml")
        else:
            parse_yaml(text.encode(), "n.yaml")
