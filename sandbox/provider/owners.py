"""The owners of an application or service principal: added after a create, reconciled on update, one
`$ref` at a time as Graph takes them (the real provider's owners helpers)."""

from __future__ import annotations

from sandbox.provider.errors import graph_failure
from sandbox.provider.graph_client import GraphAPIError, GraphClient


def owner_ids(client: GraphClient, path: str) -> list[str]:
    return [o["id"] for o in client.list_all(f"{path}/owners") if o.get("id")]


def add_owners_of_new_object(client: GraphClient, path: str, owners: list[str], what: str,
                             caller_id: str) -> None:
    """The owners of an object just created, added one by one: the real provider sends them with the create
    (owners@odata.bind), so no read of the new object happens here and a lagging replica's 404 is retried.
    Then, as the real provider does, the caller goes unless configured (a 404: it was no owner)."""
    for owner in owners:
        _add_owner(client, path, owner, what)
    if caller_id and caller_id.lower() not in {o.lower() for o in owners}:
        _remove_owner(client, path, caller_id, f"Could not remove initial owner from {what}")


def reconcile_owners(client: GraphClient, path: str, desired: list[str], what: str) -> None:
    existing = owner_ids(client, path)
    wanted = {o.lower() for o in desired}
    have = {o.lower() for o in existing}
    for owner in desired:
        if owner.lower() not in have:
            _add_owner(client, path, owner, what)
    for owner in existing:
        if owner.lower() not in wanted:
            _remove_owner(client, path, owner, f"Could not remove owners from {what}")


def _add_owner(client: GraphClient, path: str, owner: str, what: str) -> None:
    """One owner added; a 404 (the new object or the owner not replicated yet) is retried."""
    reference = {"@odata.id": f"{client.graph_url}/v1.0/directoryObjects/{owner}"}
    try:
        client.retry_while(lambda: client.post(f"{path}/owners/$ref", reference), lambda exc: exc.not_found)
    except GraphAPIError as exc:
        raise graph_failure(f"Could not add owners to {what}", exc) from None


def _remove_owner(client: GraphClient, path: str, owner: str, summary: str) -> None:
    """One owner removed; a 404 means it was no owner, which is what was wanted."""
    try:
        client.delete(f"{path}/owners/{owner}/$ref")
    except GraphAPIError as exc:
        if not exc.not_found:
            raise graph_failure(summary, exc) from None
