"""lab, demo and fingerprint."""

from __future__ import annotations

import argparse
import sys

from prodwall.cli.output import _emit
from prodwall.errors import EXIT_OK, ProdwallError
from prodwall.fingerprint import fingerprint, load_key


def cmd_lab(args: argparse.Namespace) -> int:
    from prodwall.lab import manager

    def say(message: str) -> None:
        if not args.quiet and args.format == "text":
            print(f"lab: {message}", file=sys.stderr)

    if args.lab_command == "up":
        state = manager.up(args.profile, say)
    elif args.lab_command == "down":
        removed = manager.down(say)
        _emit(args, {"up": False, "removed": removed}, "" if args.quiet else "lab: down")
        return EXIT_OK
    else:
        manager.require_root()
        state = manager.status()
    if not state.up:
        _emit(args, {"up": False}, "lab: down")
        return EXIT_OK
    code = EXIT_OK if state.healthy else 3
    lines = [f"lab: up, profile {state.profile}, {'healthy' if state.healthy else 'DEGRADED'}"]
    lines.append(f"  namespaces: {', '.join(sorted(state.namespaces))}")
    lines += [f"  {'ok  ' if ok else 'DOWN'} {name}" for name, ok in sorted(state.services.items())]
    doc = {
        "up": True,
        "profile": state.profile,
        "healthy": state.healthy,
        "namespaces": sorted(state.namespaces),
        "services": dict(sorted(state.services.items())),
        "exit_code": code,
    }
    _emit(args, doc, "\n".join(lines[:1] if args.quiet else lines))
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    from prodwall.demo import run_demo

    return run_demo(args.out, keep=args.keep)


def cmd_fingerprint(args: argparse.Namespace) -> int:
    key = load_key(args.key_file)
    secret = sys.stdin.buffer.read().rstrip(b"\r\n")
    if not secret:
        raise ProdwallError("no secret on standard input; pipe it in, e.g. from your vault CLI")
    print(fingerprint(secret, key))
    return EXIT_OK
