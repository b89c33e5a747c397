"""The Microsoft identity platform side of the emulator: token endpoint, OIDC discovery, JWKS.

Served on the same server as Graph; in sandbox mode the orchestrator maps login.microsoftonline.com
to it. The documents name the real host (https://login.microsoftonline.com/...) exactly as Entra's do,
because a client that checks the issuer must see the real value.

Grants: client credentials (what Terraform and the orchestrator use) and the authorization code
(a user's login: sandbox/graph/authorize.py, which also serves GET .../oauth2/v2.0/authorize). A client
is any application of the tenant with a service principal; its secret is checked against the
password credentials Entra keeps, so a secret made through addPassword logs in like the real one.
Errors are AADSTS-style: `{"error", "error_description": "AADSTSnnnn: ...", "error_codes": [...]}`.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from sandbox.graph.authorize import CodeFlow
from sandbox.graph.entities import MICROSOFT_GRAPH_APP_ID
from sandbox.graph.handlers import Answer, Caller
from sandbox.graph.signing import signing_key
from sandbox.graph.state import TenantState, parse_datetime

LOGIN_HOST = "https://login.microsoftonline.com"
MULTI_TENANT = ("common", "organizations", "consumers")
DISCOVERY_MODES = ("ok", "wrong_issuer", "missing")
_AUTHORIZE_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/authorize$")
_TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_DISCOVERY_PATH = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
_KEYS_PATH = re.compile(r"^/(?P<tenant>[^/]+)/discovery/v2\.0/keys$")
_INSTANCE_PATH = re.compile(r"^/(?P<tenant>[^/]+)/discovery/instance$")


def is_login_path(path: str) -> bool:
    return any(p.match(path) for p in (_AUTHORIZE_PATH, _TOKEN_PATH, _DISCOVERY_PATH, _KEYS_PATH, _INSTANCE_PATH))


class LoginEndpoints:
    def __init__(self, state_of: Callable[[], TenantState], issue: Callable[[Caller], str], *, seed: int,
                 discovery_mode: Callable[[], str], code_lifetime_s: Callable[[], float]):
        self._state_of = state_of
        self._issue = issue
        self._discovery_mode = discovery_mode
        self._key = signing_key(seed)
        self.key_id = self._key.key_id
        self.code_flow = CodeFlow(state_of, self._key, self._error, code_lifetime_s)

    # ------------------------------------------------------------------ routing

    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes, base_url: str) -> Answer:
        if match := _TOKEN_PATH.match(path):
            if method != "POST":
                return self._error(405, "invalid_request", 900561,
                                   "The endpoint only accepts POST requests. Received a GET request.")
            return self.token(match.group("tenant"), headers, body, base_url)
        if method != "GET":
            return self._error(405, "invalid_request", 900561, "The endpoint only accepts GET requests.")
        if match := _AUTHORIZE_PATH.match(path):
            tenant = match.group("tenant")
            tenant_id = None if tenant.lower() in MULTI_TENANT else self._tenant_guid(tenant)
            return self._unknown_tenant(tenant) if tenant_id is None else \
                self.code_flow.authorize(tenant_id, query, headers)
        if match := _DISCOVERY_PATH.match(path):
            return self.discovery(match.group("tenant"))
        if match := _KEYS_PATH.match(path):
            return self.keys(match.group("tenant"))
        if match := _INSTANCE_PATH.match(path):
            return self.instance_discovery(query)
        return self._error(404, "invalid_request", 90002, "Not found.")

    # ------------------------------------------------------------------ tenants

    def _tenant_guid(self, tenant: str) -> str | None:
        state = self._state_of()
        lowered = tenant.lower()
        if lowered == state.tenant_id.lower():
            return state.tenant_id
        if any(d["id"].lower() == lowered for d in state.tenant.get("domains", ())):
            return state.tenant_id
        return None

    def _unknown_tenant(self, tenant: str) -> Answer:
        return self._error(400, "invalid_tenant", 90002,
                           f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
                           "are signing into the correct cloud. Check with your subscription administrator, this "
                           "may happen if there are no active subscriptions for the tenant.")

    @staticmethod
    def _error(status: int, error: str, code: int, description: str) -> Answer:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return Answer(status, {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: "
                                 f"{correlation_id} Timestamp: {timestamp}",
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{LOGIN_HOST}/error?code={code}",
        })

    # ------------------------------------------------------------------ token endpoint

    def token(self, tenant: str, headers: Mapping[str, str], body: bytes, base_url: str) -> Answer:
        form = self._token_form(headers, body)
        if isinstance(form, Answer):
            return form
        tenant_id = self._tenant_id_for(tenant, form, base_url)
        if isinstance(tenant_id, Answer):
            return tenant_id
        state = self._state_of()
        sp = self._client(state, form, tenant_id)
        if isinstance(sp, Answer):
            return sp
        if form["grant_type"] == "authorization_code":
            return self._code_grant(form, tenant_id, sp)
        token = self._issue(Caller(client_app_id=form["client_id"], service_principal_id=sp["id"],
                                   roles=frozenset(state.roles_of(sp["id"]))))
        return Answer(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                            "access_token": token})

    def _code_grant(self, form: Mapping[str, str], tenant_id: str, sp: dict) -> Answer:
        code = self.code_flow.redeem(form, tenant_id)
        if isinstance(code, Answer):
            return code
        access_token = self._issue(Caller(client_app_id=form["client_id"], service_principal_id=sp["id"],
                                          roles=frozenset()))
        answer = {"token_type": "Bearer", "scope": " ".join(sorted(code.scopes)), "expires_in": 3599,
                  "ext_expires_in": 3599, "access_token": access_token}
        id_token = self.code_flow.id_token(code, tenant_id)
        if id_token is not None:
            answer["id_token"] = id_token
        return Answer(200, answer)

    def _token_form(self, headers: Mapping[str, str], body: bytes) -> dict[str, str] | Answer:
        """The client-credentials form, client id and secret taken from Basic auth when the form lacks them."""
        if "application/x-www-form-urlencoded" not in headers.get("content-type", "").lower():
            return self._error(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'grant_type'.")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(basic[6:].strip()).decode().partition(":")
                form.setdefault("client_id", user)
                form.setdefault("client_secret", password)
            except (ValueError, UnicodeDecodeError):
                return self._error(401, "invalid_client", 7000216, "Malformed client credentials.")
        grant = form.get("grant_type")
        required = ("grant_type", "client_id", "code", "redirect_uri") if grant == "authorization_code" else \
            ("grant_type", "client_id", "scope")
        for name in required:
            if not form.get(name):
                return self._error(400, "invalid_request", 900144,
                                   f"The request body must contain the following parameter: '{name}'.")
        if form["grant_type"] not in ("client_credentials", "authorization_code"):
            return self._error(400, "unsupported_grant_type", 70003,
                               f"The app requested an unsupported grant type '{form['grant_type']}'.")
        return form

    def _tenant_id_for(self, tenant: str, form: Mapping[str, str], base_url: str) -> str | Answer:
        """The tenant's GUID, once the tenant and the scope (`<Graph>/.default`) are known good."""
        if tenant.lower() in MULTI_TENANT:
            return self._error(400, "invalid_request", 50059,
                               "No tenant-identifying information found in either the request or implied by "
                               "any provided credentials.")
        tenant_id = self._tenant_guid(tenant)
        if tenant_id is None:
            return self._unknown_tenant(tenant)
        if form["grant_type"] == "authorization_code":
            return tenant_id  # its scopes are the authorization request's
        scope = form["scope"].strip()
        if not scope.endswith("/.default") or " " in scope:
            return self._error(400, "invalid_scope", 1002012,
                               f"The provided value for scope {scope} is not valid. Client credential flows must "
                               "have a scope value with /.default suffixed to the resource identifier "
                               "(application ID URI).")
        resource = scope[: -len("/.default")].rstrip("/")
        if resource.lower() not in ("https://graph.microsoft.com", MICROSOFT_GRAPH_APP_ID, base_url.lower()):
            return self._error(400, "invalid_resource", 500011,
                               f"The resource principal named {resource} was not found in the tenant named "
                               f"{tenant_id}. This can happen if the application has not been installed by the "
                               "administrator of the tenant or consented to by any user in the tenant.")
        return tenant_id

    def _client(self, state: TenantState, form: Mapping[str, str], tenant_id: str) -> dict | Answer:
        """The client's service principal, once its secret is known, unexpired and propagated."""
        client_id = form["client_id"]
        app = state.application_by_app_id(client_id)
        if app is None:
            return self._error(400, "unauthorized_client", 700016,
                               f"Application with identifier '{client_id}' was not found in the directory "
                               f"'{state.tenant.get('displayName', tenant_id)}'. This can happen if the application "
                               "has not been installed by the administrator of the tenant or consented to by any "
                               "user in the tenant. You may have sent your authentication request to the wrong "
                               "tenant.")
        secret = form.get("client_secret")
        if not secret:
            return self._error(401, "invalid_client", 7000216,
                               "'client_assertion', 'client_secret' or 'request' is required for the "
                               f"'{form['grant_type']}' grant type.")
        now = datetime.now(UTC)
        sp = state.service_principal_by_app_id(client_id)
        credentials = [*app.get("passwordCredentials", ()), *(sp or {}).get("passwordCredentials", ())]
        matching = [c for c in credentials if state.password_secrets.get(c["keyId"]) == secret]
        if not matching:
            return self._invalid_secret(client_id)
        if all(parse_datetime(c["endDateTime"], "endDateTime") <= now for c in matching):
            return self._error(401, "invalid_client", 7000222,
                               f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
                               "portal to create new keys for your app.")
        if not state.usable_credentials(client_id, secret):  # made seconds ago: not on every replica yet
            return self._invalid_secret(client_id)
        if sp is None:
            return self._error(400, "unauthorized_client", 7000229,
                               f"The client application {client_id} is missing service principal in the tenant "
                               f"{tenant_id}.")
        if not sp.get("accountEnabled", True):
            return self._error(400, "unauthorized_client", 7000112, f"Application '{client_id}' is disabled.")
        return sp

    def _invalid_secret(self, client_id: str) -> Answer:
        return self._error(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request is the "
                           f"client secret value, not the client secret ID, for a secret added to app "
                           f"'{client_id}'.")

    # ------------------------------------------------------------------ discovery

    def discovery(self, tenant: str) -> Answer:
        mode = self._discovery_mode()
        if mode == "missing":
            return self._error(404, "invalid_request", 90002, "The discovery document could not be found.")
        if tenant.lower() in MULTI_TENANT:
            segment, issuer_tenant, region = tenant.lower(), "{tenantid}", None
        else:
            tenant_id = self._tenant_guid(tenant)
            if tenant_id is None:
                return self._unknown_tenant(tenant)
            segment, issuer_tenant = tenant_id, tenant_id
            region = self._state_of().tenant.get("regionScope", "EU")
        issuer = f"{LOGIN_HOST}/{issuer_tenant}/v2.0"
        if mode == "wrong_issuer":
            # the v1.0 issuer: what a client gets when it reads the wrong document
            issuer = f"https://sts.windows.net/{issuer_tenant}/"
        base = f"{LOGIN_HOST}/{segment}"
        return Answer(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                 "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
                                 "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": region,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        })

    def keys(self, tenant: str) -> Answer:
        if tenant.lower() in MULTI_TENANT:
            issuer = f"{LOGIN_HOST}/{{tenantid}}/v2.0"
        else:
            tenant_id = self._tenant_guid(tenant)
            if tenant_id is None:
                return self._unknown_tenant(tenant)
            issuer = f"{LOGIN_HOST}/{tenant_id}/v2.0"
        return Answer(200, {"keys": [self._key.jwk(issuer)]})

    @staticmethod
    def instance_discovery(query: Mapping[str, str]) -> Answer:
        authorize = query.get("authorization_endpoint", f"{LOGIN_HOST}/common/oauth2/v2.0/authorize")
        match = re.match(r"^https?://[^/]+/(?P<tenant>[^/]+)/", authorize)
        tenant = match.group("tenant") if match else "common"
        return Answer(200, {
            "tenant_discovery_endpoint": f"{LOGIN_HOST}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": "login.microsoftonline.com",
                          "preferred_cache": "login.windows.net",
                          "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com",
                                      "sts.windows.net"]}],
        })
