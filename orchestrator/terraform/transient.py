"""The Terraform failures known to be transient: Entra ID's replication lag, as the azuread provider meets it.

Microsoft Graph is eventually consistent: an object created a moment ago may answer 404 from another
replica for seconds. The azuread provider (3.7.0 to 3.9.0) waits that out only in a few places (the
application's PATCH after its create, the service principal's POST); elsewhere it fails, or drops the
object from the state. Each entry below is one such failure, matched against one `Error:` paragraph of
Terraform's output (orchestrator/terraform/diagnostics.py), with what it means; sandbox/README.md's
fidelity list names the provider source each comes from. A re-plan and re-apply after a pause gets
past every one of them: a tainted object is replaced, a dropped one is created again or adopted
(orchestrator/entra/adopt.py).

This module is pure (no I/O): apply (orchestrator/workflows/apply.py) decides when to wait and retry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TransientPattern:
    name: str       # a few words, as apply prints them
    pattern: str    # a regular expression searched in one Error paragraph
    why: str        # what Entra ID is doing, as apply prints it

    def matches(self, paragraph: str) -> bool:
        return re.search(self.pattern, paragraph, re.DOTALL) is not None


TRANSIENT_PATTERNS: tuple[TransientPattern, ...] = (
    TransientPattern(
        "new service principal not replicated yet",
        r"Timed out whilst waiting for new service principal to be replicated in Azure AD",
        "the provider's PATCH right after creating the service principal reached a replica that does not have "
        "it yet (no retry on 404 there: azuread issues #1802, #1811); the object is kept in the state, tainted",
    ),
    TransientPattern(
        "new application not replicated yet",
        r"Timed out whilst waiting for new application to be replicated in Azure AD",
        "the new application was still unknown to Microsoft Graph when the provider's retries ran out",
    ),
    TransientPattern(
        "new object dropped by the read after its create",
        r"Provider (?:returned invalid result object after apply|produced inconsistent result after apply|produced "
        r"null object).*azuread_",
        "the read that ends a create reached a replica that does not have the new object yet, so the "
        "provider dropped it from the state; it exists in Entra ID and is adopted or made again",
    ),
    TransientPattern(
        "application not replicated yet (password)",
        r'Application \(Application: "[^"]+"\) was not found',
        "azuread_application_password reads its application once, without retry, right after the "
        "application was created",
    ),
    TransientPattern(
        "new password not listed yet",
        r"Waiting for password credential for .*(?:Request_ResourceNotFound|404|not found)",
        "the wait for the new password's key ID met a replica that does not have the application yet",
    ),
    TransientPattern(
        "service principal not replicated yet (assignment or grant)",
        r"Service principal not found for resource|Service Principal \([^)]*\) was not found",
        "an assignment or permission grant checks its service principal once, without retry, right after "
        "it was created",
    ),
    TransientPattern(
        "application not replicated yet (service principal)",
        r"Could not create service principal.*(?:does not reference a valid application object|backing "
        r"application of the service principal being created must in the local tenant)",
        "the new application was still unknown when the provider's retries of the service principal's "
        "create ran out",
    ),
)


def transient_failure(diagnostics: Iterable[str]) -> TransientPattern | None:
    """The pattern of the first error when every error of a failed apply is a known transient one; None when
    any is not (or there is none): then retrying would not help, and the failure is reported as it is."""
    found: list[TransientPattern] = []
    for paragraph in diagnostics:
        pattern = next((p for p in TRANSIENT_PATTERNS if p.matches(paragraph)), None)
        if pattern is None:
            return None
        found.append(pattern)
    return found[0] if found else None


@dataclass(frozen=True)
class TransientRetry:
    """How often and how long apply waits out transient failures: `attempts` applies in all, with a pause
    of `first_wait` seconds before the second, doubling up to `max_wait`.

    SEKOIA_SSO_TRANSIENT_RETRY="attempts,first_wait,max_wait" overrides it (tests use short pauses)."""

    attempts: int = 5
    first_wait: float = 5.0
    max_wait: float = 60.0

    def wait_before(self, attempt: int) -> float:
        """The pause before apply number `attempt` (2 for the first retry)."""
        return min(self.first_wait * 2 ** (attempt - 2), self.max_wait)

    @classmethod
    def from_text(cls, text: str, *, source: str) -> TransientRetry:
        """Parse "attempts,first_wait,max_wait"; ValueError naming `source` and the allowed shape otherwise."""
        parts = [p.strip() for p in text.split(",")]
        try:
            attempts, first_wait, max_wait = int(parts[0]), float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ValueError(f"{source} must be three numbers, attempts,first_wait,max_wait (e.g. 5,5,60); "
                             f"got {text!r}") from None
        if len(parts) != 3 or not 1 <= attempts <= 20 or not 0 <= first_wait <= max_wait <= 600:
            raise ValueError(f"{source}: attempts must be 1 to 20 and 0 <= first_wait <= max_wait <= 600 seconds; "
                             f"got {text!r}")
        return cls(attempts, first_wait, max_wait)
