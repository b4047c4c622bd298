"""How ``breaker`` shows data to people: literally, on one line per fact, with times as dates.

Everything the CLI prints comes from somewhere else (callee errors, isolation reasons, ARNs, table
items), so nothing printed is ever interpreted: consoles here have rich's markup, emoji and
highlighting off, styles are applied with :class:`~rich.text.Text` spans, and control characters
are shown escaped (a callee's error cannot clear the operator's terminal). Output that is not a
terminal is never wrapped, so a script (or a copy and paste) always gets whole ARNs.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

from rich.console import Console
from rich.text import Text

#: Width of a console that is not a terminal: wide enough that nothing is ever wrapped.
UNWRAPPED_WIDTH = 100_000
#: A spinner appears only for waits longer than this.
SPINNER_DELAY_SECONDS = 1.0


def console(stderr: bool = False) -> Console:
    """A console that prints text literally; unwrapped when it is not a terminal."""
    made = Console(stderr=stderr, markup=False, emoji=False, highlight=False)
    if not made.is_terminal:
        made.width = UNWRAPPED_WIDTH
    return made


def clean(value: Any, limit: int | None = None) -> str:
    """``value`` as text that prints as itself: control characters escaped, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text from plain parts and ``(text, style)`` parts; the text is never interpreted as markup."""
    return Text.assemble(*((clean(p[0]), p[1]) if isinstance(p, tuple) else clean(p) for p in parts))


def error_line(message: str, hint: str | None = None) -> Text:
    """``error: MESSAGE`` (and ``HINT`` after a newline), as :func:`styled` text."""
    text = styled(("error:", "bold red"), " ", message)
    if hint:
        text.append("\n")
        text.append(clean(hint), style="dim")
    return text


def span(seconds: float) -> str:
    """``42 s``, ``5 min``, ``3 h 10 min``, ``2 d``: a duration at the precision people read it."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        hours, minutes = divmod(int(seconds) // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds / 86_400:.0f} d"


def moment(epoch: Any, now: float | None = None) -> str:
    """``14:05:31 UTC (in 42 s)``, ``2026-11-24 09:00:00 UTC (3 h ago)``: an epoch time as a date, relative to now.

    Anything is shown: a number no clock can reach as it is (``epoch 1e+30``), a value that is not a
    number (from a malformed cause) as its text.
    """
    if epoch is None:
        return ""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
        return clean(epoch, 60)
    now = time.time() if now is None else now
    try:
        at = datetime.fromtimestamp(epoch, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"epoch {epoch:g}"
    today = datetime.fromtimestamp(now, tz=timezone.utc).date()
    shown = f"{at:%H:%M:%S} UTC" if at.date() == today else f"{at:%Y-%m-%d %H:%M:%S} UTC"
    delta = epoch - now
    relative = "now" if abs(delta) < 1 else (f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago")
    return f"{shown} ({relative})"


def lambda_error(value: Any) -> str | None:
    """``errorType: errorMessage`` of a Lambda error payload (a dict or its JSON), without its stack trace."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict) and ("errorType" in value or "errorMessage" in value):
        kind, message = value.get("errorType"), value.get("errorMessage")
        return f"{kind}: {message}" if kind and message is not None else str(kind or message)
    return None


def readable_error(text: str) -> str:
    """A recorded error for people: ``FlakyError: {"errorMessage": "x", ...}`` (as ``LastError`` holds it) → ``FlakyError: x``."""
    described = lambda_error(text)
    if described:
        return described
    name, separator, rest = text.partition(": ")
    described = lambda_error(rest) if separator else None
    if described is None:
        return text
    return described if described.startswith(name) else f"{name}: {described}"


@contextmanager
def progress(target: Console, message: str) -> Iterator[None]:
    """A spinner with ``message`` on ``target`` (stderr) while the block runs longer than a second; only on a terminal."""
    if not target.is_terminal:
        yield
        return
    status = target.status(Text(clean(message)), spinner="dots")
    timer = threading.Timer(SPINNER_DELAY_SECONDS, status.start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()
