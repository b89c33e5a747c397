"""The one exception resource code raises to report a failure to Terraform, and its making from a Graph error."""

from __future__ import annotations

from tf.utils import Diagnostics

from sandbox.provider.graph_client import GraphAPIError


class ProviderError(Exception):
    """An error diagnostic: `summary` and `detail` as SDKv2's tf.ErrorDiagF / ErrorDiagPathF produce them.

    Messages name objects by ID and quote Graph's error code and message; they never include a
    request body, a token or a secret.
    """

    def __init__(self, summary: str, detail: str = "", *, attribute: str | None = None):
        super().__init__(summary if not detail else f"{summary}: {detail}")
        self.summary = summary
        self.detail = detail
        self.attribute = attribute

    def add_to(self, diags: Diagnostics) -> None:
        diags.add_error(self.summary, self.detail, path=[self.attribute] if self.attribute else None)


def graph_failure(summary: str, exc: GraphAPIError, attribute: str | None = None) -> ProviderError:
    return ProviderError(summary, str(exc), attribute=attribute)
