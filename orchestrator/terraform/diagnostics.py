"""What Terraform says on failure, read: its `Error:` blocks as paragraphs, the state lock's holder, and
the exception a failed or timed-out command is raised as."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import (
    BackendChangedError,
    StalePlanError,
    StateLockedError,
    TerraformError,
    TerraformTimeoutError,
)


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


# --------------------------------------------------------------------------------------------
# A failed command → its exception


def timeout_error(command: str, *, root_dir: Path, timeout: float, grace_period: float,
                  killed: bool) -> TerraformTimeoutError:
    """A command that ran past `timeout`: stopped by SIGINT, or `killed` when it outlived `grace_period`."""
    if killed:
        after = (
            f"it did not stop within {grace_period:g}s of SIGINT and was killed, so it may "
            "have left the state locked (release it with `terraform force-unlock <ID>` if a "
            "later run reports the lock)"
        )
    else:
        after = "it was interrupted and stopped cleanly, releasing the state lock"
    return TerraformTimeoutError(
        f"terraform {command} in {root_dir} timed out after {timeout:g}s: {after}. "
        "Re-run it; raise the timeout if the operation is legitimately slow.",
        command=command,
    )


def command_error(command: str, returncode: int, stderr: str, stdout: str, *, root_dir: Path, data_dir: Path,
                  plan_path: Path | None) -> TerraformError:
    """What a command that failed with `returncode` in `root_dir` (TF_DATA_DIR `data_dir`) is raised as: the
    lock, a stale plan and a changed backend each have their exception; otherwise its first error block."""
    # Terraform writes diagnostics to stderr; stdout is only a fallback (its lines would run
    # into the block: "Planning failed. Terraform encountered an error…").
    block, count = first_error(stderr)
    text = stderr
    if block is None:
        block, count = first_error(stdout)
        text = stdout
    if block is not None and block.summary.startswith("Error acquiring the state lock"):
        lock = parse_lock_info(text)
        operation = lock.operation.removeprefix("OperationType").lower() or "an operation"
        return StateLockedError(
            f"The Terraform state of {root_dir} is locked by another run (lock ID {lock.id or '?'}: "
            f"{operation} by {lock.who or 'unknown'} since {lock.created or 'unknown'}). Wait for that "
            f"run to finish and retry; if it died without releasing the lock, release it with "
            f"`terraform force-unlock {lock.id or '<ID>'}` run in {root_dir} with "
            f"TF_DATA_DIR={data_dir}.",
            lock=lock,
            command=command,
            returncode=returncode,
        )
    if block is not None and block.summary.startswith("Saved plan is stale"):
        return StalePlanError(
            f"The saved plan {plan_path} is stale: the state changed after it was made (another "
            "apply ran since). Nothing was applied. Run plan again, review it, and apply the new plan.",
            command=command,
            returncode=returncode,
        )
    if (
        block is not None
        and command == "init"
        and block.summary.startswith(("Backend configuration changed", "Backend initialization required"))
    ):
        return BackendChangedError(
            f"The backend settings of {root_dir} differ from those its data dir {data_dir} "
            "was initialised with; nothing was changed. If the existing state must move to the new "
            "backend, run init again with state migration (terraform init -migrate-state); if the new "
            "backend already holds the right state, run init again with reconfigure "
            "(terraform init -reconfigure).",
            command=command,
            returncode=returncode,
        )
    if block is not None:
        message = f"terraform {command} in {root_dir} failed: {block.paragraph()}"
        if count > 1:
            message += f" ({count - 1} more error{'s' if count > 2 else ''} in Terraform's output)"
    else:
        message = (
            f"terraform {command} in {root_dir} failed with exit code {returncode}: "
            f"{last_words(stderr) or 'no error message'}"
        )
    # Every block, so that apply can tell a known transient failure (transient.py) from the others.
    paragraphs = tuple(b.paragraph() for b in error_blocks(text)) or (message,)
    return TerraformError(message, command=command, returncode=returncode, diagnostics=paragraphs)
