"""azuread_application_password: a password credential of an application, its secret known only at creation."""

from __future__ import annotations

import re
from typing import Any

from sandbox.provider.errors import ProviderError, graph_failure
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import GUID, GraphResource, IdFormat, password_credential, wait_until_gone

PASSWORD_SIGHTINGS = 5  # ContinuousTargetOccurence in application_password_resource.go


class ApplicationPassword(GraphResource):
    type_name = "azuread_application_password"
    importable = False  # the real resource has no importer: a secret's value cannot be read back
    id_format = IdFormat(rf"({GUID})/password/({GUID})", "Password ID", "{objectId}/password/{keyId}")

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        application_id = planned["application_id"]
        match = re.fullmatch(rf"/applications/({GUID})", application_id or "")
        if match is None:
            raise ProviderError(f"Parsing `application_id`: {application_id!r} is not an application resource ID "
                                "(/applications/{objectId})", attribute="application_id")
        object_id = match.group(1)
        credential = password_credential(planned.get("display_name"), planned.get("start_date"),
                                         planned.get("end_date"))
        path = f"/applications/{object_id}"
        try:
            # One GET, no retry: an application created a moment ago may not be seen yet, and then this fails.
            client.get(path)
        except GraphAPIError as exc:
            if exc.not_found:
                raise ProviderError(f"Application (Application: {object_id!r}) was not found".replace("'", '"'),
                                    attribute="application_id") from None
            raise graph_failure(f"Retrieving Application (Application: {object_id!r})", exc, "application_id") from None
        try:
            created = client.post(f"{path}/addPassword", {"passwordCredential": credential})
        except GraphAPIError as exc:
            raise graph_failure(f"Adding password for Application (Application: {object_id!r})", exc) from None
        key_id = created.get("keyId")
        if not key_id:
            raise ProviderError("API error adding password", "nil or empty keyId received")
        secret = created.get("secretText")
        if not secret:
            raise ProviderError("API error adding password", "nil or empty password received")
        resource_id = f"{object_id}/password/{key_id}"
        self.created_state = {"id": resource_id, "key_id": key_id, "value": secret}

        def seen() -> bool:
            app = client.get(path)
            return any(str(c.get("keyId", "")).lower() == key_id.lower() for c in app.get("passwordCredentials") or [])

        # The real provider's StateChangeConf: the new key ID seen 5 times in a row, polls MinTimeout (1 s)
        # apart; a Graph error (a 404 included) ends the wait at once.
        waited = f"Waiting for password credential for Application (Application: {object_id!r})".replace("'", '"')
        try:
            appeared = client.wait_for_sightings(seen, times=PASSWORD_SIGHTINGS)
        except GraphAPIError as exc:
            raise graph_failure(waited, exc) from None
        if not appeared:
            raise ProviderError(waited, "password credential not found in application manifest")
        state = dict(planned, id=resource_id, key_id=key_id, value=secret)
        return self.read(ctx, state)  # None (a 404 on the read): dropped, as SDKv2's d.SetId("")

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        object_id, key_id = self.parse_id(current.get("id") or "")
        try:
            app = self.client.get_or_none(f"/applications/{object_id}")
        except GraphAPIError as exc:
            raise graph_failure(f"Retrieving Application (Application: {object_id!r})", exc, "application_id") from None
        if app is None:
            return None
        credential = next((c for c in app.get("passwordCredentials") or []
                           if str(c.get("keyId", "")).lower() == key_id.lower()), None)
        if credential is None:
            return None  # removed behind Terraform's back: dropped from state, so it is planned again
        state = dict(current)
        state.update(
            application_id=f"/applications/{object_id}",
            key_id=key_id,
            # Graph's spelling, verbatim, as the real Read does (7 fractional digits, or none on a whole
            # second): a configured end_date spelt otherwise shows as a change unless ignore_changes hides it
            start_date=credential.get("startDateTime") or "",
            end_date=credential.get("endDateTime") or "",
        )
        if credential.get("displayName") is not None:
            state["display_name"] = credential["displayName"]
        return state

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        # Every argument forces a new password: an update only ever changes `timeouts`.
        return dict(current, timeouts=planned.get("timeouts"))

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        object_id, key_id = self.parse_id(current["id"])
        path = f"/applications/{object_id}"
        try:
            self.client.post(f"{path}/removePassword", {"keyId": key_id})
        except GraphAPIError as exc:
            if exc.not_found:
                return
            raise graph_failure(f"Removing password credential {key_id!r} from Application "
                                f"(Application: {object_id!r})",
                        exc) from None

        def listed() -> bool:
            app = self.client.get_or_none(path)
            return bool(app) and any(str(c.get("keyId", "")).lower() == key_id.lower()
                                     for c in app.get("passwordCredentials") or [])

        wait_until_gone(self.client, listed, f"Waiting for deletion of password credential {key_id!r}",
                        still="still listed")
