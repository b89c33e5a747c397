"""What Terraform says on failure, read: its `Error:` blocks as paragraphs, the state lock's holder."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LockInfo:
    """Who holds the state lock, as Terraform reports it."""

    id: str = ""
    path: str = ""
    operation: str = ""
    who: str = ""
    version: str = ""
    created: str = ""
    info: str = ""



# --------------------------------------------------------------------------------------------
# Terraform's error output → one paragraph

_BOX = re.compile(r"^[│╷╵]\s?")
_LOCATION = re.compile(r"^\s+on (?P<file>.+?) line (?P<line>\d+)(?:, in (?P<block>.+?))?:\s*$")
_WITH = re.compile(r"^\s+with (?P<address>.+?),\s*$")
_SOURCE = re.compile(r"^\s*\d+:\s|^\s+[├│|]")
_GENERIC = {"execution halted", "operation canceled", "operation cancelled"}


@dataclass(frozen=True)
class ErrorBlock:
    summary: str
    location: str = ""
    detail: str = ""

    def paragraph(self) -> str:
        text = self.summary.rstrip(".:")
        if self.location:
            text += f" ({self.location})"
        if self.detail:
            text += f": {self.detail}"
        return text


def error_blocks(text: str) -> list[ErrorBlock]:
    """Every `Error:` diagnostic in Terraform's -no-color output, in order."""
    lines = [_BOX.sub("", line.rstrip()) for line in text.splitlines()]
    blocks: list[ErrorBlock] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("Error: "):
            index += 1
            continue
        summary = lines[index][len("Error: ") :].strip()
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].startswith(("Error: ", "Warning: ")):
            body.append(lines[index])
            index += 1
        blocks.append(_block(summary, body))
    return blocks


def _block(summary: str, body: list[str]) -> ErrorBlock:
    where: list[str] = []
    detail: list[str] = []
    for line in body:
        if not line.strip():
            continue
        if match := _LOCATION.match(line):
            where.append(
                f"{match['file']} line {match['line']}" + (f", in {match['block']}" if match["block"] else "")
            )
        elif match := _WITH.match(line):
            where.insert(0, match["address"])
        elif _SOURCE.match(line):
            continue  # the quoted source line and its value hints
        else:
            detail.append(line.strip())
    return ErrorBlock(summary=summary, location=", ".join(where), detail=" ".join(detail))


def first_error(text: str) -> tuple[ErrorBlock | None, int]:
    """The first meaningful error block and how many there are in all."""
    blocks = error_blocks(text)
    meaningful = [block for block in blocks if block.summary.lower() not in _GENERIC] or blocks
    return (meaningful[0] if meaningful else None), len(blocks)


def parse_lock_info(text: str) -> LockInfo:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^[│\s]*(ID|Path|Operation|Who|Version|Created|Info):\s*(.*?)\s*$", line)
        if match and match[1].lower() not in fields:
            fields[match[1].lower()] = match[2]
    return LockInfo(**fields)


def last_words(text: str) -> str:
    """When Terraform printed no Error: block (a bad flag, a crash): its last non-empty lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _BOX.match(line)]
    return " ".join(lines[-3:])[:500]


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(line: str) -> str:
    """A line of Terraform's output as it may reach a terminal: control characters (NUL, SOH, ESC, C1,
    line separators, bidirectional overrides) removed, tabs kept."""
    return _CONTROL_RE.sub("", line)
