"""The agent's entry point at the vantage: one versioned envelope in, one out.

stdin holds `{"protocol": 1, "module": "prodwall.families.network.vantage_agent", "job": {...}}`;
the named module's `run(job)` does the work; stdout gets
`{"protocol": 1, "result": {...}}` or `{"protocol": 1, "error": "..."}`.
Progress goes to stderr, which the runner streams. Standard library only here:
this runs wherever the vantage is, inside the shipped agent file.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback

PROTOCOL = 1


def main() -> int:
    try:
        envelope = json.load(sys.stdin)
    except ValueError as exc:
        return _reply({"error": f"unreadable job: {exc}"}, 2)
    if not isinstance(envelope, dict) or envelope.get("protocol") != PROTOCOL:
        got = envelope.get("protocol") if isinstance(envelope, dict) else None
        return _reply({"error": f"agent speaks protocol {PROTOCOL}, the runner sent {got}"}, 2)
    try:
        module = importlib.import_module(str(envelope["module"]))
        result = module.run(envelope["job"])
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return _reply({"error": f"{exc.__class__.__name__}: {exc}"}, 1)
    return _reply({"result": result}, 0)


def _reply(body: dict[str, object], code: int) -> int:
    json.dump({"protocol": PROTOCOL, **body}, sys.stdout)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
