"""The provider itself: its block, its configuration (login) and the types it serves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tf.iface import Config, DataSource, Resource
from tf.schema import Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from sandbox.provider import GRAPH_URL_ENV, LOGIN_URL_ENV, POLL_SECONDS_ENV, PROVIDER_ADDRESS
from sandbox.provider.errors import ProviderError
from sandbox.provider.graph_client import GraphAPIError, GraphClient
from sandbox.provider.schema import provider_env_vars, provider_spec
from sandbox.provider.validate import is_uuid

ENVIRONMENTS = ("global", "public", "china", "canary", "usgovernment", "usgovernmentl4", "dod", "usgovernmentl5")


class AzureADProvider:
    """`tf`'s Provider protocol: hashicorp/azuread 3.7.0 as far as the sekoia-sso module needs it."""

    def __init__(self) -> None:
        self._client: GraphClient | None = None
        self.tenant_id = ""
        self.client_id = ""
        self.object_id = ""

    # ---------------------------------------------------------------- tf.iface.Provider

    def get_model_prefix(self) -> str:
        return ""

    def full_name(self) -> str:
        return PROVIDER_ADDRESS

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return provider_spec().to_tf_schema()

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        partner_id = (config or {}).get("partner_id")
        if isinstance(partner_id, str) and partner_id:
            for message in is_uuid(partner_id, "partner_id"):
                diags.add_error(message, "", path=["partner_id"])

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        try:
            self._configure(config or {})
        except ProviderError as exc:
            exc.add_to(diags)

    def get_resources(self) -> list[type[Resource]]:
        from sandbox.provider.resources import RESOURCES

        return list(RESOURCES)

    def get_data_sources(self) -> list[type[DataSource]]:
        from sandbox.provider.data_sources import DATA_SOURCES

        return list(DATA_SOURCES)

    def get_functions(self) -> list:
        return []

    def new_resource(self, klass: type) -> Any:
        return klass(self)

    def new_data_source(self, klass: type) -> Any:
        return klass(self)

    # ---------------------------------------------------------------- configuration

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            raise ProviderError("The azuread provider was not configured", "ConfigureProvider was not called.")
        return self._client

    def _setting(self, config: Config, name: str) -> Any:
        """A provider argument: the config's value, else its environment variables (EnvDefaultFunc)."""
        value = config.get(name)
        if value is not None and value is not Unknown:
            return value
        spec = provider_spec().attributes[name]
        for variable in provider_env_vars().get(name, ()):
            raw = os.environ.get(variable)
            if raw:
                return raw.lower() in ("1", "true") if spec.type == "bool" else raw
        return spec.default if spec.has_default else None

    def _from_file(self, config: Config, value_name: str, file_name: str) -> str:
        """client_id / client_secret, or the content of their *_file_path (the provider's getClientId...)."""
        value = self._setting(config, value_name) or ""
        path = self._setting(config, file_name)
        if path:
            try:
                from_file = Path(path).read_text().strip()
            except OSError as exc:
                what = value_name.replace("_", " ")
                raise ProviderError(f"reading {what} from file {path!r}: {exc.strerror}") from None
            if value and value != from_file:
                raise ProviderError(f"mismatch between supplied {value_name.replace('_', ' ')} and supplied "
                                    f"{value_name.replace('_', ' ')} file contents - please either remove one or "
                                    "ensure they match")
            value = from_file
        return value

    def _configure(self, config: Config) -> None:
        environment = str(self._setting(config, "environment") or "global")
        if environment.lower() not in ENVIRONMENTS:
            raise ProviderError(f"no environment was found with the name {environment!r}".replace("'", '"'))
        client_id = self._from_file(config, "client_id", "client_id_file_path")
        client_secret = self._from_file(config, "client_secret", "client_secret_file_path")
        tenant_id = self._setting(config, "tenant_id") or ""

        graph_url = os.environ.get(GRAPH_URL_ENV, "").strip()
        if not graph_url:
            raise ProviderError(
                f"building client: the emulated azuread provider needs {GRAPH_URL_ENV}",
                f"Set {GRAPH_URL_ENV} to the Graph emulator's URL: `python -m sandbox up` writes it, with the "
                "rest of the sandbox's environment, to <sandbox dir>/endpoints.json.",
            )
        if not client_secret:
            if any(self._setting(config, flag) for flag in ("use_oidc", "use_msi", "use_aks_workload_identity")) or \
                    self._setting(config, "client_certificate") or self._setting(config, "client_certificate_path"):
                raise ProviderError(
                    "building client: unable to build authorizer: the sandbox's Graph emulator only supports "
                    "client secret authentication",
                    "Set client_id and client_secret (or ARM_CLIENT_ID and ARM_CLIENT_SECRET).",
                )
            raise ProviderError(
                "building client: unable to build authorizer: could not configure AzureCli Authorizer: "
                "there is no Azure CLI in the sandbox",
                "Authenticate with a client secret: set client_id and client_secret in the provider block, or "
                "ARM_CLIENT_ID and ARM_CLIENT_SECRET (the sandbox's values are in <sandbox dir>/endpoints.json).",
            )
        if not client_id:
            raise ProviderError("building client: unable to build authorizer: client ID was not specified",
                                "Set client_id in the provider block or ARM_CLIENT_ID.")
        if not tenant_id:
            raise ProviderError("building client: unable to build authorizer: tenant ID was not specified",
                                "Set tenant_id in the provider block or ARM_TENANT_ID.")

        client = GraphClient(graph_url=graph_url, login_url=os.environ.get(LOGIN_URL_ENV, "").strip() or graph_url,
                             tenant_id=tenant_id, client_id=client_id, client_secret=client_secret,
                             poll_interval=_poll_seconds())
        try:
            client.token()
        except GraphAPIError as exc:
            raise ProviderError(f"building client: unable to obtain access token: {exc}") from None
        object_id = str(client.token_claims().get("oid") or "")
        if not object_id:
            # The provider's fallback when the token has no `oid` claim (internal/clients/client.go).
            try:
                matches = list(client.list_all("/servicePrincipals", params={"$filter": f"appId eq '{client_id}'"}))
            except GraphAPIError as exc:
                raise ProviderError("building client: attempting to discover object ID for authenticated "
                                    f"service principal: {exc}") from None
            if len(matches) != 1:
                raise ProviderError("building client: attempting to discover object ID for authenticated service "
                                    f"principal: unexpected number of results, expected 1, received {len(matches)}")
            object_id = matches[0]["id"]
        self._client = client
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.object_id = object_id


def _poll_seconds() -> float:
    """$AZUREAD_SANDBOX_POLL_SECONDS, else the real provider's 1 s (StateChangeConf's MinTimeout)."""
    try:
        value = float(os.environ.get(POLL_SECONDS_ENV, "") or 1.0)
    except ValueError:
        raise ProviderError(f"{POLL_SECONDS_ENV} must be a number of seconds") from None
    return min(max(value, 0.0), 10.0)
