"""The README's code blocks, as the tests that run them read them.

Every ``python`` block of the README starts with a comment naming the file it is (``# stacks/shop.py``):
the install test writes them into a fresh project and runs it. ``bash`` blocks are found by what they
contain.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
_FILE_HEADER = re.compile(r"^# ([\w./-]+\.py)\n")


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in ``language``, in order."""
    return [body for lang, body in _BLOCK.findall(README.read_text()) if lang == language]


def python_files() -> dict[str, str]:
    """Each ``python`` block by the file name its first line gives; raises if a block names none."""
    files: dict[str, str] = {}
    for body in blocks("python"):
        header = _FILE_HEADER.match(body)
        if header is None:
            raise AssertionError(f"README python block without a '# path.py' first line:\n{body}")
        files[header.group(1)] = body
    return files


def bash_block(*containing: str) -> str:
    """The one ``bash`` block that contains every string of ``containing``."""
    found = [body for body in blocks("bash") if all(text in body for text in containing)]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} README bash blocks contain {containing}")
    return found[0]
