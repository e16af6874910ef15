"""Text from inventories, hosts and bundles, made safe to print: every control character
(ESC for screen clearing and window titles, CR for overwriting a line, LF for starting a
CI log command, C1 controls, Unicode line separators) shown as a visible \\xNN escape."""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_BUT_TAB_NL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def shown(ch: str) -> str:
    return f"\\x{ord(ch):02x}"


def escaped(text: str, keep_newlines: bool = False) -> str:
    """`text` with its control characters escaped; newlines kept only where asked (text
    prodwall composed itself), tabs with them."""
    pattern = CONTROL_BUT_TAB_NL if keep_newlines else CONTROL
    return pattern.sub(lambda m: shown(m.group()), text)
