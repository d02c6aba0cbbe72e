"""Outside text (file names, a track's stored source, messages) made safe to show anywhere."""

from __future__ import annotations

import re

# Control characters (ESC starts a terminal escape sequence: it can clear the screen, retitle the
# terminal or hide text), C1 controls and bidi overrides, as they come in names and messages.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"[\n\t]")


def printable(text: str, keep_lines: bool = False) -> str:
    """`text` safe for a terminal: every control character shown as its escape (`\\x1b`), so an
    outside string (a file name, a track's stored source) cannot drive the terminal."""
    pattern = _CONTROL if keep_lines else re.compile(f"{_CONTROL.pattern}|{_LINE_BREAKS.pattern}")
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 rep", "7 reps", "0 reps": a count with its noun (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"
