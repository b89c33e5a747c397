"""The exceptions the orchestrator raises, and the one place they become exit codes.

    SekoiaSSOError                 exit 1 unless a subclass says otherwise
    ├── ConfigError                exit 2  bad envs/<env>.yaml, bad CLI argument, missing env var
    ├── UsageError                 exit 2  a command used the wrong way
    ├── WaitingError               exit 3  waiting on something outside our control; re-run later
    ├── TerraformError             exit 1  Terraform failed (its first `Error:` block, one paragraph)
    │   └── StateLockedError       exit 1  another run holds the state lock
    ├── GraphError                 exit 1  Microsoft Graph answered an error (code, message)
    └── SekoiaError                exit 1  Sekoia.io answered an error (status, code, message)

The library never imports Click: the CLI turns these into messages and exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_WAITING = 3


class SekoiaSSOError(Exception):
    exit_code = EXIT_FAILED


class ConfigError(SekoiaSSOError):
    exit_code = EXIT_USAGE


class UsageError(SekoiaSSOError):
    exit_code = EXIT_USAGE


class WaitingError(SekoiaSSOError):
    exit_code = EXIT_WAITING


class TerraformError(SekoiaSSOError):
    def __init__(self, message: str, *, command: str = "", returncode: int | None = None):
        super().__init__(message)
        self.command = command
        self.returncode = returncode


class StateLockedError(TerraformError):
    pass


class GraphError(SekoiaSSOError):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class SekoiaError(SekoiaSSOError):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


def shorten(value: object, limit: int = 60) -> str:
    """repr(value) for a message, at most about `limit` characters: a 200,000-character value stays a line."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "…"
