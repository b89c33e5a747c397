"""The tenant's OpenID Connect discovery document, checked before Sekoia.io is told to trust it.

Sekoia.io is given the tenant endpoint (`https://login.microsoftonline.com/<tenant>/`) and finds
the rest through `<tenant endpoint>v2.0/.well-known/openid-configuration`. If that document is
wrong, every SSO login fails later, far from the cause; so it is fetched and checked first:

- the issuer is this tenant's v2 issuer (`<tenant endpoint>v2.0`), never the multi-tenant
  `common` / `organizations` / `consumers` placeholders;
- the authorization, token and JWKS endpoints are there, over https, and the authorization
  endpoint lies under the tenant endpoint (Sekoia.io's field is exactly that prefix);
- the JWKS answers with at least one signing key.

Requests go through `Endpoints.resolve` (the sandbox maps login.microsoftonline.com to its
emulator), are never redirected, and carry no credentials.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from orchestrator.endpoints import Endpoints, is_loopback, require_https
from orchestrator.errors import DiscoveryError

__all__ = ["DiscoveryError", "DiscoveryResult", "check_tenant_discovery", "discovery_url"]

MULTI_TENANT = frozenset({"common", "organizations", "consumers"})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class DiscoveryResult:
    discovery_url: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    key_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def discovery_url(tenant_endpoint: str) -> str:
    return tenant_endpoint.rstrip("/") + "/v2.0/.well-known/openid-configuration"


def check_tenant_discovery(
    tenant_endpoint: str,
    tenant_id: str,
    *,
    endpoints: Endpoints | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> DiscoveryResult:
    """Fetch and check the v2 discovery document and its JWKS; DiscoveryError says what is wrong."""
    tenant_endpoint = tenant_endpoint.rstrip("/") + "/"
    segment = urlsplit(tenant_endpoint).path.strip("/")
    if segment.lower() in MULTI_TENANT:
        raise DiscoveryError(
            f"The tenant endpoint {tenant_endpoint} names {segment!r}, a multi-tenant placeholder: Sekoia.io "
            f"needs the tenant's own endpoint, {urlsplit(tenant_endpoint).scheme}://"
            f"{urlsplit(tenant_endpoint).netloc}/{tenant_id}/")
    if segment.lower() != tenant_id.lower():
        raise DiscoveryError(f"The tenant endpoint {tenant_endpoint} does not name tenant {tenant_id}")
    url = discovery_url(tenant_endpoint)
    require_https(url, what="The tenant's discovery document")
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                      headers={"Accept": "application/json", "User-Agent": "sekoia-sso"}) as http:
        document = _get_json(http, url, endpoints, what="The tenant's discovery document")
        if not isinstance(document, dict):
            raise DiscoveryError(f"The tenant's discovery document at {url} is not a JSON object")
        issuer = _text(document, "issuer", url)
        expected_issuer = tenant_endpoint + "v2.0"
        issuer_tenant = urlsplit(issuer).path.strip("/").split("/")[0] if issuer else ""
        if issuer_tenant.lower() in MULTI_TENANT or "{tenantid}" in issuer.lower():
            raise DiscoveryError(
                f"The discovery document at {url} names the multi-tenant issuer {issuer}: ID tokens would not "
                f"name this tenant. Expected {expected_issuer}; nothing was sent to Sekoia.io")
        if issuer.rstrip("/").lower() != expected_issuer.lower():
            raise DiscoveryError(
                f"The discovery document at {url} names issuer {issuer}, not this tenant's {expected_issuer}: "
                "Sekoia.io would reject the ID tokens. Check tenant_id in the environment's YAML; nothing was "
                "sent to Sekoia.io")
        endpoints_found = {name: _text(document, name, url)
                           for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
        for name, value in endpoints_found.items():
            if urlsplit(value).scheme != "https" and not is_loopback(value):
                raise DiscoveryError(f"The discovery document at {url}: {name} {value} is not an https URL")
        if not endpoints_found["authorization_endpoint"].lower().startswith(tenant_endpoint.lower()):
            raise DiscoveryError(
                f"The discovery document at {url}: authorization_endpoint {endpoints_found['authorization_endpoint']} "
                f"is not under the tenant endpoint {tenant_endpoint}, which Sekoia.io derives it from")
        jwks = _get_json(http, endpoints_found["jwks_uri"], endpoints, what="The tenant's signing keys (JWKS)")
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys:
            raise DiscoveryError(
                f"The tenant's signing keys at {endpoints_found['jwks_uri']} list no key: ID tokens could not be "
                "checked; nothing was sent to Sekoia.io")
        key_ids = tuple(str(k.get("kid")) for k in keys if isinstance(k, dict) and k.get("kid"))
        if not key_ids:
            raise DiscoveryError(f"The tenant's signing keys at {endpoints_found['jwks_uri']} carry no key ID (kid)")
    return DiscoveryResult(url, issuer, endpoints_found["authorization_endpoint"],
                           endpoints_found["token_endpoint"], endpoints_found["jwks_uri"], key_ids)


def _text(document: dict[str, Any], name: str, url: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip():
        raise DiscoveryError(f"The discovery document at {url} has no {name}: it is not a usable OpenID Connect "
                             "provider; nothing was sent to Sekoia.io")
    return value.strip()


def _get_json(http: httpx.Client, url: str, endpoints: Endpoints | None, *, what: str) -> Any:
    actual = endpoints.resolve(url) if endpoints else url
    require_https(actual, what=what)
    try:
        response = http.get(actual)
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"{what} at {url} could not be fetched ({type(exc).__name__}: {exc}); nothing was "
                             "sent to Sekoia.io") from None
    if 300 <= response.status_code < 400:
        raise DiscoveryError(f"{what} at {url} answered a redirect ({response.status_code}) to "
                             f"{response.headers.get('Location', '?')}; expected the document itself")
    if response.status_code != 200:
        raise DiscoveryError(f"{what} at {url} answered {response.status_code}: is the tenant ID right? Nothing was "
                             "sent to Sekoia.io")
    try:
        return json.loads(response.content)
    except ValueError:
        raise DiscoveryError(f"{what} at {url} is not JSON") from None
