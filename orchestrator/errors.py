"""Every exception the orchestrator raises, and the exit code each one means.

    SekoiaSSOError                   exit 1 unless a subclass says otherwise
    ├── ConfigError                  exit 2  bad envs/<env>.yaml, bad CLI argument, missing env var
    │   └── UnknownAccessError       exit 2  `access` names groups or users the tenant does not have
    ├── UsageError                   exit 2  a command used the wrong way
    │   └── TerraformNotAppliedError exit 2  connect before the Terraform half was applied
    ├── WaitingError                 exit 3  waiting on something outside our control; re-run later
    │   ├── DomainsPendingError      exit 3  domains wait for Sekoia.io's verification
    │   └── ManualStepsRequired      exit 3  an assumed route is missing: the steps for the UI were printed
    ├── TerraformError               exit 1  Terraform failed (its first `Error:` block, one paragraph)
    │   ├── StateLockedError                 another run holds the state lock
    │   ├── StalePlanError                   the saved plan was made against another state
    │   ├── BackendChangedError              init found other backend settings
    │   ├── TerraformCancelled               stopped on purpose (its caller cancelled it)
    │   ├── TerraformTimeoutError            ran past its timeout and was stopped
    │   └── StillTransientError              Entra ID's replication lag outlasted apply's attempts
    ├── ServiceError                 exit 1  an API answered an error (status, code)
    │   ├── NotFoundError                    the object asked for is not there (the service said so)
    │   ├── GraphError                       Microsoft Graph or the token endpoint
    │   │   └── GraphNotFoundError           404 (also a NotFoundError)
    │   └── SekoiaError                      Sekoia.io
    │       ├── SekoiaAuthError              401: the key is missing, invalid or expired
    │       ├── SekoiaPermissionError        403: the key lacks a permission
    │       ├── SekoiaNotFoundError          404 from Sekoia.io itself (also a NotFoundError)
    │       ├── SekoiaConflictError          409: the object exists already
    │       ├── SekoiaRateLimitedError       429 past the retries, or a WAF block
    │       ├── SekoiaUnavailableError       5xx after the retries, or no answer
    │       ├── SekoiaProtocolError          an answer the API does not speak (HTML, truncated JSON)
    │       ├── SekoiaRouteMissingError      an assumed route does not exist: do the step in the UI
    │       └── DomainRejectedError          Sekoia.io's team refused a domain
    ├── DiscoveryError                       the tenant's discovery document is missing or not this tenant's
    ├── LoginNotReadyError                   Entra ID would refuse Sekoia.io's login (secret, client ID, redirect URI)
    ├── StaleRenderError                     committed rendered HCL differs from a fresh render
    ├── RenderFileError                      a rendered file cannot be read or written
    ├── EnvironmentBusyError                 another run holds the environment
    ├── ReadOnlyCheckoutError                the checkout cannot be written and the command must write
    ├── SandboxNotRunningError               a sandbox environment, but the sandbox is not running
    ├── PageCheckerError                     the preflight's page checker process failed
    ├── ProblemUsersError                    users who may sign in will not get in
    ├── ForeignSSOError                      the community's SSO points at another application
    ├── RecordFailedError                    Sekoia.io holds the new secret but its key ID was not recorded
    ├── SecretUnsafeError                    a step would leave Sekoia.io with a secret Entra ID refuses
    └── UnrecordedObjectsError               several Entra ID objects could be the state's lost one

The library never imports Click: the CLI (`SSOGroup.invoke`) turns any of these into its message and
`exit_code`, the one mapping. Messages never hold a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.terraform.diagnostics import LockInfo

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_WAITING = 3


class SekoiaSSOError(Exception):
    exit_code = EXIT_FAILED


# ---- bad input, bad usage: exit 2 -----------------------------------------------------------


class ConfigError(SekoiaSSOError):
    exit_code = EXIT_USAGE


class UnknownAccessError(ConfigError):
    """`access` names groups or users the tenant does not have (exit 2), with the closest names it has.

    `unknown`: items with `setting`, `reason` and `suggestions` (entra/preflight/fetch.py's UnknownReference)."""

    def __init__(self, source: str, unknown: Sequence[Any]):
        self.unknown = tuple(unknown)
        lines = []
        for item in self.unknown:
            hint = f"; did you mean {', '.join(repr(s) for s in item.suggestions)}?" if item.suggestions else ""
            lines.append(f"  {item.setting}: {item.reason}{hint}")
        super().__init__(f"{source}: {len(lines)} name(s) in access match no single group or user of the tenant:\n"
                         + "\n".join(lines))


class UsageError(SekoiaSSOError):
    exit_code = EXIT_USAGE


class TerraformNotAppliedError(UsageError):
    """connect needs the Terraform outputs; the Terraform half has not been applied."""


# ---- waiting: exit 3 ------------------------------------------------------------------------


class WaitingError(SekoiaSSOError):
    exit_code = EXIT_WAITING


class DomainsPendingError(WaitingError):
    """Domains still wait for Sekoia.io's verification (exit 3); a re-run continues."""

    def __init__(self, message: str, *, pending: tuple[str, ...], report: dict[str, Any] | None = None):
        super().__init__(message)
        self.pending = pending
        self.report = report or {}


class ManualStepsRequired(WaitingError):
    """An assumed route is missing: the steps were printed for the UI (exit 3)."""

    def __init__(self, message: str, *, steps: list[str], operation: str, report: dict[str, Any] | None = None):
        super().__init__(message)
        self.steps = steps
        self.operation = operation
        self.report = report or {}


# ---- Terraform ------------------------------------------------------------------------------


class TerraformError(SekoiaSSOError):
    """`diagnostics`: every `Error:` block of the failed command, one paragraph each (redacted)."""

    def __init__(self, message: str, *, command: str = "", returncode: int | None = None,
                 diagnostics: Sequence[str] = ()):
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.diagnostics = tuple(diagnostics)


class StateLockedError(TerraformError):
    """Another run holds the state lock; `lock` says whose."""

    def __init__(self, message: str, *, lock: LockInfo, command: str = "", returncode: int | None = None):
        super().__init__(message, command=command, returncode=returncode)
        self.lock = lock


class StalePlanError(TerraformError):
    """The saved plan was made against a state that has changed since: plan again."""


class BackendChangedError(TerraformError):
    """init found other backend settings than the ones this data dir was initialised with."""


class TerraformCancelled(TerraformError):
    """The command was stopped because its caller set the `cancel` event; nothing is wrong with it."""


class TerraformTimeoutError(TerraformError):
    """A command ran past its timeout and was stopped."""


class StillTransientError(TerraformError):
    """Terraform apply kept failing on errors known to be transient (orchestrator/terraform/transient.py)
    after every attempt apply allows (exit 1): Entra ID had not caught up; a later re-run goes on."""


# ---- the services: Microsoft Graph, Sekoia.io -----------------------------------------------


class ServiceError(SekoiaSSOError):
    """An API answered an error: its HTTP status (None: no answer) and its own error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class NotFoundError(ServiceError):
    """The object asked for is not there, as the service itself says (not a missing route)."""


class GraphError(ServiceError):
    """Microsoft Graph or the token endpoint answered an error (code, message)."""


class GraphNotFoundError(GraphError, NotFoundError):
    """404 from Graph: the object is gone, or not replicated yet."""


class SekoiaError(ServiceError):
    """Sekoia.io answered an error (status, code, message)."""


class SekoiaAuthError(SekoiaError):
    """401: the key is missing, invalid or expired."""


class SekoiaPermissionError(SekoiaError):
    """403: the key lacks a permission."""


class SekoiaNotFoundError(SekoiaError, NotFoundError):
    """404 answered by Sekoia.io itself (its {message, code} body): the object is not there."""


class SekoiaConflictError(SekoiaError):
    """409: the object exists already."""


class SekoiaRateLimitedError(SekoiaError):
    """429 after the retries, or a Retry-After that is a WAF block."""

    def __init__(self, message: str, *, status: int | None = 429, code: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class SekoiaUnavailableError(SekoiaError):
    """5xx after the retries, or no answer at all."""


class SekoiaProtocolError(SekoiaError):
    """An answer that is not what the API speaks: HTML, truncated JSON, a redirect."""


class SekoiaRouteMissingError(SekoiaError):
    """An assumed route answered 404/405 like a path that does not exist: the step must be done in the UI."""

    def __init__(self, message: str, *, operation: str, method: str, path: str, status: int):
        super().__init__(message, status=status, code=None)
        self.operation = operation
        self.method = method
        self.path = path


class DomainRejectedError(SekoiaError):
    """Sekoia.io's team refused a domain."""


# ---- the rest: exit 1 -----------------------------------------------------------------------


class DiscoveryError(SekoiaSSOError):
    """The tenant's discovery document is missing, unreachable or not this tenant's."""


class LoginNotReadyError(SekoiaSSOError):
    """Entra ID refuses the client secret Sekoia.io holds, or its authorize endpoint the client ID or the
    redirect URI (AADSTS700016, AADSTS50011), or the sandbox's real login failed (exit 1)."""


class StaleRenderError(SekoiaSSOError):
    """Committed rendered HCL differs from a fresh render (exit 1)."""

    def __init__(self, names: list[str]):
        runs = " and ".join(f"`sekoia-sso render {name}`" for name in names)
        super().__init__(f"rendered HCL is stale for {', '.join(names)}: run {runs} and commit the result")


class RenderFileError(SekoiaSSOError):
    """A file of the rendered root cannot be read or written (a directory in its place, not UTF-8, ...)."""


class EnvironmentBusyError(SekoiaSSOError):
    """Another run of the same environment holds its lock."""


class ReadOnlyCheckoutError(SekoiaSSOError):
    """The checkout cannot be written, and the command has to write there."""


class SandboxNotRunningError(SekoiaSSOError):
    """A sandbox environment, but the sandbox's emulators are not running."""


class PageCheckerError(SekoiaSSOError):
    """The child process checking pages stopped or answered nonsense (exit 1)."""


class ProblemUsersError(SekoiaSSOError):
    """Some users who may sign in will not get in (exit 1). `report`: the preflight's report."""

    def __init__(self, report: Any, max_problems: int):
        self.report = report
        allowed = f" (more than --max-problems {max_problems})" if max_problems else ""
        super().__init__(
            f"{report.problem_users} user(s) of {report.environment} will not be able to sign in through "
            f"SSO{allowed}. Complete their profiles or fix their access in Entra ID, or accept them with "
            "--max-problems N or --warn-only."
        )


class ForeignSSOError(SekoiaSSOError):
    """The community's SSO points at another application; nothing was written (exit 1)."""


class RecordFailedError(SekoiaSSOError):
    """Sekoia.io holds the new secret but its key ID could not be recorded; the next run pushes again."""


class SecretUnsafeError(SekoiaSSOError):
    """A step would leave Sekoia.io holding a secret Entra ID no longer accepts: refused, nothing of it done."""


class UnrecordedObjectsError(SekoiaSSOError):
    """Entra ID holds several candidates for one object of the state: which one is ours is not ours to guess."""


def shorten(value: object, limit: int = 60) -> str:
    """repr(value) for a message, at most about `limit` characters: a 200,000-character value stays a line."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else text[:limit] + "…"
