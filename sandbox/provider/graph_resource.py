"""What every emulated azuread type is built on: `GraphType` and `GraphResource`, and the helpers the
types share (resource ID parsing, deletion waits, password credential bodies and timestamps), following the
real provider's internal/services/** helpers. Unknown-aware reads of planned values are in planning.py,
owners in owners.py, and the Graph failure a resource reports in errors.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, ClassVar

from tf.schema import Schema
from tf.utils import Diagnostics

from sandbox.provider.errors import ProviderError, graph_failure
from sandbox.provider.graph_client import GraphAPIError, GraphClient
from sandbox.provider.owners import reconcile_owners
from sandbox.provider.planning import known_strings, known_value, same_value
from sandbox.provider.schema import TypeSpec, resource_spec
from sandbox.provider.validate import parse_rfc3339, validate_config

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class IdFormat:
    """A resource ID's shape: a regular expression whose groups are its parts, the ID's name and an
    example, both quoted by the error a malformed ID gets (the real provider's parse.*ID)."""

    pattern: str
    name: str
    example: str

    def parse(self, resource_id: str) -> tuple[str, ...]:
        match = re.fullmatch(self.pattern, resource_id or "")
        if match is None:
            raise ProviderError(
                f"parsing {resource_id!r}: parsing the {self.name}: the number of segments didn't match"
                .replace("'", '"'),
                f"Expected a {self.name} that matched:\n\n> {self.example}\n\n"
                f"However this value was provided:\n\n> {resource_id}",
                attribute="id",
            )
        return match.groups()


class GraphType:
    """What resource and data source types share: a name, a schema from the azuread 3.7.0 data, config
    validation against it, and the provider's Graph client."""

    type_name: ClassVar[str]
    config_label: ClassVar[str] = ""  # how validation messages name the block ("data.x" for a data source)

    def __init__(self, provider: Any):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.type_name

    @classmethod
    def spec(cls) -> TypeSpec:
        raise NotImplementedError

    @classmethod
    def get_schema(cls) -> Schema:
        return cls.spec().to_tf_schema()

    @property
    def client(self) -> GraphClient:
        return self.provider.client

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        validate_config(diags, self.spec(), config, f"{self.config_label}{self.type_name}")


class GraphResource(GraphType):
    """Base of the resource types: `tf`'s Resource protocol plus the hooks the servicer calls."""

    importable: ClassVar[bool] = True
    id_format: ClassVar[IdFormat]

    def __init__(self, provider: Any):
        super().__init__(provider)
        # Set once the object exists in Graph, so a failure later in create still records it.
        self.created_state: dict[str, Any] | None = None

    @classmethod
    def spec(cls) -> TypeSpec:
        return resource_spec(cls.type_name)

    def customize_plan(self, diags: Diagnostics, prior: dict[str, Any] | None,
                       planned: dict[str, Any]) -> dict[str, Any]:
        return planned

    def import_(self, ctx: Any, resource_id: str) -> dict[str, Any] | None:
        # SDKv2's ImporterValidatingResourceId: check the ID's shape, then Terraform reads the object.
        self.parse_id(resource_id)
        return {"id": resource_id}

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return self.id_format.parse(resource_id)

    def upgrade(self, ctx: Any, version: int, old: dict[str, Any]) -> dict[str, Any]:
        return old

    # ---------------------------------------------------------------- Graph steps the types share

    def create_object(self, path: str, body: dict[str, Any], what: str, *, missing_id: str,
                      retry_on: Callable[[GraphAPIError], bool] | None = None) -> dict[str, Any]:
        """POST a new object (repeated while `retry_on` accepts the error): Graph's answer, which must carry an ID."""
        client = self.client
        try:
            created = client.retry_while(lambda: client.post(path, body), retry_on or (lambda exc: False))
        except GraphAPIError as exc:
            raise graph_failure(f"Could not create {what}", exc) from None
        if not created.get("id"):
            raise ProviderError("Bad API response", missing_id)
        return created

    def require_present(self, path: str, *, missing: str, failed: str, missing_attribute: str | None = None) -> None:
        """One GET of an object the new one refers to, with no retry (the real provider's pre-checks):
        `missing` on 404, as replication lag gives for an object created a moment ago; `failed` on other errors."""
        try:
            self.client.get(path)
        except GraphAPIError as exc:
            if exc.not_found:
                raise graph_failure(missing, exc, missing_attribute) from None
            raise graph_failure(failed, exc) from None

    def reconcile_changed_owners(self, path: str, current: dict[str, Any], planned: dict[str, Any],
                                 what: str) -> None:
        """On update, the owners are only reconciled when the configuration changed them."""
        if not same_value(current.get("owners"), planned.get("owners")):
            reconcile_owners(self.client, path, known_strings(planned.get("owners")), what)

    def delete_object(self, path: str, summary: str, *, awaited: str | None = None,
                      ignore_errors: bool = False) -> None:
        """DELETE `path`, one already gone counting as deleted; with `awaited` (what the wait messages call the
        object), wait until Graph stops answering for it. `ignore_errors`: a refusal also ends the delete."""
        try:
            self.client.delete(path)
        except GraphAPIError as exc:
            if exc.not_found or ignore_errors:
                return
            raise graph_failure(summary, exc, "id") from None
        if awaited is not None:
            wait_for_deletion(self.client, path, awaited)



class GraphPathResource(GraphResource):
    """A resource whose ID is the Graph path of its object (app role assignments, permission grants)."""

    def find(self, path: str) -> dict[str, Any] | None:
        """The object at `path` as Graph answers it, None when it is gone."""
        raise NotImplementedError

    @staticmethod
    def flatten(found: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def require_service_principal(self, object_id: str, *, missing: str, failed: str) -> None:
        """The pre-check of a service principal the new object refers to; the real provider reports its
        absence on principal_object_id, whichever attribute named it."""
        self.require_present(f"/servicePrincipals/{object_id}", missing=missing, failed=failed,
                             missing_attribute="principal_object_id")

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        path = current.get("id") or ""
        self.parse_id(path)
        found = self.find(path)
        return None if found is None else self.flatten(found, current)

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        path = current["id"]
        self.parse_id(path)
        self.delete_object(path, f"Deleting {path}")


def wait_for_deletion(client: GraphClient, path: str, what: str) -> None:
    """consistency.WaitForDeletion: the object must stop answering before the delete is done."""
    wait_until_gone(client, lambda: client.get_or_none(path) is not None, f"Waiting for deletion of {what}",
                    still="still readable")


class _StillThere(GraphAPIError):
    pass


def wait_until_gone(client: GraphClient, still_there: Callable[[], bool], summary: str, *, still: str) -> None:
    """Poll `still_there` with the client's retries until it answers False; on time out, fail with `summary`."""

    def check() -> None:
        if still_there():
            raise _StillThere(still, status=200)

    try:
        client.retry_while(check, lambda exc: isinstance(exc, _StillThere))
    except GraphAPIError as exc:
        raise graph_failure(summary, exc) from None


def password_credential(display_name: Any, start_date: Any, end_date: Any) -> dict[str, Any]:
    """credentials.PasswordCredential: display name and RFC 3339 dates. (end_date_relative is accepted
    by the schema and, as in the real v3.7.0 code, never reaches the request.)"""
    credential: dict[str, Any] = {}
    if known_value(display_name) is not None:
        credential["displayName"] = display_name
    for key, value in (("startDateTime", start_date), ("endDateTime", end_date)):
        value = known_value(value)
        if value:
            parsed = parse_rfc3339(value)
            if parsed is None:
                attribute = "start_date" if key == "startDateTime" else "end_date"
                raise ProviderError(f"Unable to parse the provided {attribute.replace('_', ' ')} {value!r}",
                                    attribute=attribute)
            credential[key] = parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return credential
