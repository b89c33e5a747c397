"""Microsoft Graph tokens, taken the way the azuread provider takes its credentials.

One login serves both Terraform and this tool: the same `ARM_*` variables, tried in the
provider's order, each enabled method only when its settings are complete:

    1. client certificate   ARM_CLIENT_ID + ARM_CLIENT_CERTIFICATE_PATH or ARM_CLIENT_CERTIFICATE
                            (+ ARM_CLIENT_CERTIFICATE_PASSWORD)            azure-identity
    2. client secret        ARM_CLIENT_ID + ARM_CLIENT_SECRET (or the *_FILE_PATH variants)   httpx
    3. OIDC                 ARM_USE_OIDC=true + ARM_CLIENT_ID + ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH,
                            or a GitHub Actions token request (ARM_OIDC_REQUEST_URL/TOKEN,
                            ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN)                               httpx
    4. AKS workload identity ARM_USE_AKS_WORKLOAD_IDENTITY=true (AZURE_FEDERATED_TOKEN_FILE)   httpx
    5. managed identity     ARM_USE_MSI=true (ARM_CLIENT_ID picks a user-assigned identity)   azure-identity
    6. Azure CLI            ARM_USE_CLI (default true) and `az` on PATH                       azure-identity

The client-credentials flows (secret, OIDC and workload identity assertions) are plain POSTs
to `<login host>/<tenant>/oauth2/v2.0/token`, sent over the caller's httpx client and through
`Endpoints.resolve`, so the sandbox's emulated login host serves them like the real one.
azure-identity is imported only for the methods that need it.

Secrets (client secret, assertions, tokens) are never part of a message, a repr or an
exception: errors name the variables to fix, and text coming back from the token endpoint is
scrubbed of anything we sent.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx

from orchestrator.endpoints import require_https
from orchestrator.errors import ConfigError, GraphError
from orchestrator.retry_after import retry_after_seconds

if TYPE_CHECKING:  # azure-identity is imported only by the methods that use it
    from azure.core.credentials import TokenCredential

# A token is refreshed this long before it expires, so a long check never sends a stale one.
REFRESH_MARGIN_SECONDS = 300
TOKEN_ENDPOINT_ATTEMPTS = 3
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GITHUB_OIDC_AUDIENCE = "api://AzureADTokenExchange"

_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}

CREDENTIAL_HELP = (
    "Give Microsoft Graph credentials the way the azuread provider takes them: "
    "ARM_CLIENT_ID + ARM_CLIENT_SECRET (service principal), "
    "ARM_CLIENT_ID + ARM_CLIENT_CERTIFICATE_PATH (certificate), "
    "ARM_USE_OIDC=true + ARM_CLIENT_ID + ARM_OIDC_TOKEN or ARM_OIDC_TOKEN_FILE_PATH (OIDC, e.g. GitHub Actions), "
    "ARM_USE_MSI=true (managed identity), or `az login` (Azure CLI, unless ARM_USE_CLI=false). "
    "The identity needs User.Read.All and GroupMember.Read.All."
)


class TokenSource(Protocol):
    """Anything that hands out Graph access tokens; `description` is safe to print."""

    description: str

    def token(self, *, force_refresh: bool = False) -> str: ...


@dataclass(frozen=True)
class CloudHosts:
    """The public (as configured) login and Graph origins, and how to reach them."""

    login_url: str                                   # e.g. https://login.microsoftonline.com
    graph_url: str                                   # e.g. https://graph.microsoft.com
    resolve: Callable[[str], str] = field(default=lambda url: url)

    @property
    def scope(self) -> str:
        # The scope names the configured Graph resource; the sandbox only changes where requests go.
        return f"{self.graph_url.rstrip('/')}/.default"


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {environ[name]!r}")


def _value_or_file(environ: Mapping[str, str], name: str, file_name: str) -> str:
    """`name`'s value, else the content of the file `file_name` points at (the provider's *_FILE_PATH)."""
    value = environ.get(name, "").strip()
    if value:
        return value
    path = environ.get(file_name, "").strip()
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{file_name} names {path}, which cannot be read ({exc.strerror})") from None


def _first(environ: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return ""


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


class _CachedToken:
    """A token and when to refresh it; one refresh at a time across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = ""
        self._refresh_at = 0.0

    def get(self, fetch: Callable[[], tuple[str, float]], force_refresh: bool) -> str:
        with self._lock:
            if force_refresh or not self._value or time.monotonic() >= self._refresh_at:
                value, expires_in = fetch()
                margin = min(REFRESH_MARGIN_SECONDS, expires_in / 2)
                self._value, self._refresh_at = value, time.monotonic() + expires_in - margin
            return self._value


class ClientCredentialsToken:
    """The OAuth 2.0 client-credentials grant over httpx: a client secret or a client assertion (OIDC)."""

    def __init__(self, *, hosts: CloudHosts, tenant_id: str, client_id: str, http: httpx.Client,
                 client_secret: str | None = None, assertion: Callable[[], str] | None = None,
                 method: str = "client secret"):
        if (client_secret is None) == (assertion is None):
            raise ValueError("exactly one of client_secret and assertion")
        self.token_url = f"{hosts.login_url.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        self.description = f"{method} of application {client_id} in tenant {tenant_id}"
        self._resolve = hosts.resolve
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "scope": hosts.scope}
        self._http = http
        self._client_secret = client_secret
        self._assertion = assertion
        self._cache = _CachedToken()
        self._sent: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<ClientCredentialsToken {self.description}>"

    def token(self, *, force_refresh: bool = False) -> str:
        return self._cache.get(self._fetch, force_refresh)

    def _fetch(self) -> tuple[str, float]:
        form = dict(self._form)
        if self._client_secret is not None:
            form["client_secret"] = self._client_secret
        elif self._assertion is not None:  # one of the two, as __init__ checks
            form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            form["client_assertion"] = self._assertion()
        self._sent = (form.get("client_secret", ""), form.get("client_assertion", ""))
        url = require_https(self._resolve(self.token_url), what="the Entra ID token endpoint")
        response = None
        for attempt in range(TOKEN_ENDPOINT_ATTEMPTS):
            try:
                response = self._http.post(url, data=form, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                if attempt + 1 == TOKEN_ENDPOINT_ATTEMPTS:
                    raise GraphError(f"cannot reach the Entra ID token endpoint {self.token_url} "
                                     f"({type(exc).__name__}) for the {self.description}") from None
                time.sleep(0.2 * 2 ** attempt)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt + 1 < TOKEN_ENDPOINT_ATTEMPTS:
                    time.sleep(min(retry_after_seconds(response.headers) or 0.2 * 2 ** attempt, 10))
                    continue
            break
        assert response is not None
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> tuple[str, float]:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        body = answer if isinstance(answer, dict) else {}
        if response.status_code == 200 and isinstance(body.get("access_token"), str):
            try:
                expires_in = float(body.get("expires_in", 3599))
            except (TypeError, ValueError):
                expires_in = 3599.0
            return body["access_token"], max(expires_in, 1.0)
        status = response.status_code
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).netloc or "the same host"
            raise GraphError(f"the Entra ID token endpoint {self.token_url} answered a redirect ({status}) to {target} "
                             f"for the {self.description}; not followed: credentials are only ever sent to Entra ID",
                             status=status)
        if 200 <= status < 300:
            raise GraphError(f"the Entra ID token endpoint {self.token_url} answered {status} with no access token "
                             f"for the {self.description}: {_describe_token_answer(response, answer)}. Is a proxy "
                             "answering in its place?", status=status)
        code = str(body.get("error") or f"HTTP {response.status_code}")
        description = str(body.get("error_description") or "").strip().splitlines()
        detail = _scrub(description[0] if description else response.reason_phrase, self._sent)
        message = (f"Entra ID refused a Microsoft Graph token for the {self.description}: {code}: {detail}")
        if 400 <= response.status_code < 500 and response.status_code != 429:
            # Wrong id, secret, tenant or federation: the configuration is what needs fixing.
            raise ConfigError(message + ". Check ARM_TENANT_ID, ARM_CLIENT_ID and the secret or OIDC token.")
        raise GraphError(message, status=response.status_code, code=code)


_JSON_KINDS: dict[type, str] = {list: "a JSON list", str: "a JSON string"}


def _describe_token_answer(response: httpx.Response, answer: object) -> str:
    """What came instead of a token, never the body itself (it may be huge, or hold what we sent)."""
    if not response.content:
        return "an empty body"
    if answer is None:
        if response.content.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
            return "an HTML page, not JSON"
        return f"a body that is not JSON ({len(response.content):,} bytes, truncated?)"
    if not isinstance(answer, dict):
        return _JSON_KINDS.get(type(answer), f"a JSON {type(answer).__name__}")
    return "access_token is missing or not a string"


class AzureIdentityToken:
    """A credential of azure-identity (certificate, managed identity, Azure CLI) behind the same interface."""

    def __init__(self, credential: TokenCredential, *, scope: str, description: str, help_text: str):
        self._credential = credential
        self._scope = scope
        self._help = help_text
        self._cache = _CachedToken()
        self.description = description

    def __repr__(self) -> str:
        return f"<AzureIdentityToken {self.description}>"

    def token(self, *, force_refresh: bool = False) -> str:
        return self._cache.get(self._fetch, force_refresh)

    def _fetch(self) -> tuple[str, float]:
        from azure.core.exceptions import ClientAuthenticationError
        from azure.identity import CredentialUnavailableError

        try:
            access = self._credential.get_token(self._scope)
        except CredentialUnavailableError as exc:
            first = (str(exc).strip().splitlines() or ["unavailable"])[0]
            raise ConfigError(f"no Microsoft Graph token from the {self.description}: {first}. {self._help}") from None
        except ClientAuthenticationError as exc:
            first = (str(exc.message or exc).strip().splitlines() or ["refused"])[0]
            raise GraphError(f"the {self.description} could not get a Microsoft Graph token: {first}") from None
        return access.token, max(access.expires_on - time.time(), 1.0)


def _github_oidc_assertion(http: httpx.Client, request_url: str, request_token: str) -> Callable[[], str]:
    """GitHub Actions: ask the runner for a fresh ID token with Entra's federation audience."""

    def fetch() -> str:
        separator = "&" if "?" in request_url else "?"
        try:
            response = http.get(f"{request_url}{separator}audience={GITHUB_OIDC_AUDIENCE}",
                                headers={"Authorization": f"Bearer {request_token}", "Accept": "application/json"})
        except httpx.TransportError as exc:
            raise GraphError(f"cannot reach the OIDC token request URL ({type(exc).__name__})") from None
        value = None
        if response.status_code == 200:
            try:
                value = response.json().get("value")
            except (ValueError, AttributeError):
                value = None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"the OIDC token request (ARM_OIDC_REQUEST_URL) answered HTTP {response.status_code} "
                              "without a token; does the workflow have `permissions: id-token: write`?")
        return value

    return fetch


def _file_assertion(path: str, variable: str) -> Callable[[], str]:
    """Re-read on every token: projected service-account tokens are rotated on disk."""

    def fetch() -> str:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{variable} names {path}, which cannot be read ({exc.strerror})") from None
        if not value:
            raise ConfigError(f"{variable} names {path}, which is empty")
        return value

    return fetch


def graph_token_source(environ: Mapping[str, str] | None, *, tenant_id: str, hosts: CloudHosts,
                       http: httpx.Client) -> TokenSource:
    """The first complete credential in the azuread provider's order; ConfigError naming the variables if none."""
    environ = os.environ if environ is None else environ
    arm_tenant = environ.get("ARM_TENANT_ID", "").strip()
    if arm_tenant and arm_tenant.lower() != tenant_id.lower():
        raise ConfigError(
            f"ARM_TENANT_ID is {arm_tenant} but the environment's tenant_id is {tenant_id}: the credentials are "
            "for another tenant. Unset ARM_TENANT_ID or log in to the right tenant."
        )
    client_id = _value_or_file(environ, "ARM_CLIENT_ID", "ARM_CLIENT_ID_FILE_PATH")
    secret = _value_or_file(environ, "ARM_CLIENT_SECRET", "ARM_CLIENT_SECRET_FILE_PATH")
    certificate_path = environ.get("ARM_CLIENT_CERTIFICATE_PATH", "").strip()
    certificate_data = environ.get("ARM_CLIENT_CERTIFICATE", "").strip()

    def needs_client_id(what: str) -> None:
        if not client_id:
            raise ConfigError(f"{what} is set but ARM_CLIENT_ID is not: name the application (its client ID).")

    if certificate_path or certificate_data:
        needs_client_id("ARM_CLIENT_CERTIFICATE_PATH" if certificate_path else "ARM_CLIENT_CERTIFICATE")
        return _certificate_token(environ, tenant_id=tenant_id, client_id=client_id, hosts=hosts,
                                  path=certificate_path, data=certificate_data)

    if secret:
        needs_client_id("ARM_CLIENT_SECRET")
        return ClientCredentialsToken(hosts=hosts, tenant_id=tenant_id, client_id=client_id, http=http,
                                      client_secret=secret)

    if _flag(environ, "ARM_USE_OIDC", False):
        needs_client_id("ARM_USE_OIDC")
        return ClientCredentialsToken(hosts=hosts, tenant_id=tenant_id, client_id=client_id, http=http,
                                      assertion=_oidc_assertion(environ, http), method="OIDC federated credential")

    if _flag(environ, "ARM_USE_AKS_WORKLOAD_IDENTITY", False):
        client_id = client_id or environ.get("AZURE_CLIENT_ID", "").strip()
        token_file = environ.get("AZURE_FEDERATED_TOKEN_FILE", "").strip()
        if not (client_id and token_file):
            raise ConfigError("ARM_USE_AKS_WORKLOAD_IDENTITY is true but AZURE_CLIENT_ID (or ARM_CLIENT_ID) and "
                              "AZURE_FEDERATED_TOKEN_FILE are not both set: is the pod labelled for workload identity?")
        return ClientCredentialsToken(hosts=hosts, tenant_id=tenant_id, client_id=client_id, http=http,
                                      assertion=_file_assertion(token_file, "AZURE_FEDERATED_TOKEN_FILE"),
                                      method="AKS workload identity")

    if _flag(environ, "ARM_USE_MSI", False):
        from azure.identity import ManagedIdentityCredential

        which = f"user-assigned managed identity {client_id}" if client_id else "system-assigned managed identity"
        return AzureIdentityToken(ManagedIdentityCredential(client_id=client_id or None), scope=hosts.scope,
                                  description=which, help_text=CREDENTIAL_HELP)

    if _flag(environ, "ARM_USE_CLI", True) and shutil.which("az"):
        from azure.identity import AzureCliCredential

        return AzureIdentityToken(AzureCliCredential(tenant_id=tenant_id), scope=hosts.scope,
                                  description=f"Azure CLI login (tenant {tenant_id})", help_text=CREDENTIAL_HELP)

    if client_id:
        raise ConfigError("ARM_CLIENT_ID is set but no secret, certificate or OIDC token goes with it. "
                          + CREDENTIAL_HELP)
    raise ConfigError(f"no Microsoft Graph credentials found. {CREDENTIAL_HELP}")


def _certificate_token(environ: Mapping[str, str], *, tenant_id: str, client_id: str, hosts: CloudHosts,
                       path: str, data: str) -> TokenSource:
    """ARM_CLIENT_CERTIFICATE_PATH (`path`, a file) or ARM_CLIENT_CERTIFICATE (`data`, base64), through
    azure-identity."""
    from azure.identity import CertificateCredential

    password = environ.get("ARM_CLIENT_CERTIFICATE_PASSWORD") or None
    authority = urlsplit(hosts.login_url).hostname or "login.microsoftonline.com"
    certificate_data = None
    if not path:
        try:
            certificate_data = base64.b64decode(data, validate=True)
        except ValueError:
            raise ConfigError("ARM_CLIENT_CERTIFICATE must be a base64-encoded PKCS#12 bundle") from None
    credential = CertificateCredential(tenant_id, client_id, certificate_path=path or None,
                                       certificate_data=certificate_data, password=password, authority=authority)
    return AzureIdentityToken(credential, scope=hosts.scope, help_text=CREDENTIAL_HELP,
                              description=f"client certificate of application {client_id} in tenant {tenant_id}")


def _oidc_assertion(environ: Mapping[str, str], http: httpx.Client) -> Callable[[], str]:
    """The ID token of ARM_USE_OIDC: given (ARM_OIDC_TOKEN), in a file, or asked of GitHub Actions."""
    direct = environ.get("ARM_OIDC_TOKEN", "").strip()
    token_file = environ.get("ARM_OIDC_TOKEN_FILE_PATH", "").strip()
    request_url = _first(environ, "ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = _first(environ, "ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if direct:
        return lambda: direct
    if token_file:
        return _file_assertion(token_file, "ARM_OIDC_TOKEN_FILE_PATH")
    if request_url and request_token:
        return _github_oidc_assertion(http, request_url, request_token)
    raise ConfigError(
        "ARM_USE_OIDC is true but no ID token is given: set ARM_OIDC_TOKEN, ARM_OIDC_TOKEN_FILE_PATH, "
        "or run in GitHub Actions with `permissions: id-token: write` "
        "(ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)."
    )
