"""The authorization-code flow of the login emulator: GET .../oauth2/v2.0/authorize, the code, the ID token.

There is no browser, so the signed-in user is named by the request header `X-Sandbox-User`
(a UPN or object ID: the session cookie a browser would carry). Without it the authorize
endpoint answers the sign-in page (200, HTML), which is what a real browser without a session
sees once client_id and redirect_uri are accepted: `login readiness` relies on that.

Checks, in Entra's order (see sandbox/README.md, "Fidelity", for the sources):
- unknown tenant → AADSTS90002; missing client_id/response_type/redirect_uri → AADSTS900144;
- unknown client → AADSTS700016 page; redirect_uri not exactly one of the application's web
  redirect URIs → AADSTS50011 page (Entra never redirects to an address it was not given);
- the user: unknown → AADSTS50034, disabled → AADSTS50057; the service principal requires
  assignment and the user is neither assigned directly nor a *direct* member of an assigned group
  (nested groups do not count) → AADSTS50105, sent back to the redirect URI as error=access_denied.
A code is single-use, bound to the client and the redirect URI, and expires (knob
`auth_code_lifetime_ms`, 10 minutes by default as Entra's).

ID token claims (v2.0): iss, aud, exp, iat, nbf, sub (pairwise: per application), oid, tid, ver,
nonce when asked; `name` and `preferred_username` with the profile scope; `email` from the user's
mail (absent without one) with the email scope or the `email` optional claim, dropped for a
multi-tenant application when the mail's domain is not a verified domain of the tenant;
`given_name`/`family_name` only when the application configures them as ID-token optional claims
AND the profile scope is asked. A claim whose value is null is left out, as Entra does.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.graph.handlers import Answer
from sandbox.graph.signing import SigningKey
from sandbox.graph.state import TenantState

SANDBOX_USER_HEADER = "x-sandbox-user"
ID_TOKEN_LIFETIME_S = 3600
LOGIN_HOST = "https://login.microsoftonline.com"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: frozenset[str]
    nonce: str | None
    expires_at: float
    redeemed: bool = False


def html_page(status: int, title: str, message: str, headers: Mapping[str, str] | None = None) -> Answer:
    """An Entra-style HTML page (sign-in or error): what a browser would render."""
    body = (f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(title)}</h1><p id=\"message\">{html.escape(message)}</p></body></html>")
    return Answer(status, body, {"Content-Type": HTML_CONTENT_TYPE, **(headers or {})})


class CodeFlow:
    """Authorize endpoint and the authorization-code grant, over one tenant's state."""

    def __init__(self, state_of: Callable[[], TenantState], key: SigningKey,
                 error: Callable[[int, str, int, str], Answer], code_lifetime_s: Callable[[], float]):
        self._state_of = state_of
        self._key = key
        self._error = error
        self._codes: dict[str, _Code] = {}
        self._code_lifetime_s = code_lifetime_s

    # ------------------------------------------------------------------ authorize

    def authorize(self, tenant_id: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Answer:
        state = self._state_of()
        for required in ("client_id", "response_type", "redirect_uri"):
            if not query.get(required):
                return _error_page(900144, f"The request body must contain the following parameter: '{required}'.")
        client_id, redirect_uri = query["client_id"], query["redirect_uri"]
        app = state.application_by_app_id(client_id)
        if app is None:
            return _error_page(700016, f"Application with identifier '{client_id}' was not found in the directory "
                                       f"'{state.tenant.get('displayName', tenant_id)}'. This can happen if the "
                                       "application has not been installed by the administrator of the tenant or "
                                       "consented to by any user in the tenant. You may have sent your "
                                       "authentication request to the wrong tenant.")
        if redirect_uri not in ((app.get("web") or {}).get("redirectUris") or ()):
            return _error_page(50011, f"The redirect URI '{redirect_uri}' specified in the request does not match "
                                      f"the redirect URIs configured for the application '{client_id}'. Make sure "
                                      "the redirect URI sent in the request matches one added to your application "
                                      "in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to "
                                      "learn more about how to fix this.")
        if "code" not in query["response_type"].split():
            return _error_page(700054, f"response_type '{query['response_type']}' is not enabled for the "
                                       "application.")
        who = headers.get(SANDBOX_USER_HEADER, "").strip()
        if not who:
            return html_page(200, "Sign in to your account", "Sign in (send X-Sandbox-User: <UPN> to sign a "
                                                             "sandbox user in).")
        user = state.user(who)
        if user is None:
            return _error_page(50034, f"The user account {who} does not exist in the "
                                      f"{state.tenant.get('displayName', tenant_id)} directory. To sign into this "
                                      "application, the account must be added to the directory.")
        if not user.get("accountEnabled", True):
            return _error_page(50057, "The user account is disabled.")
        back = {"state": query["state"]} if "state" in query else {}
        if not self._assigned(state, client_id, user["id"]):
            return _redirect(redirect_uri, {
                "error": "access_denied",
                "error_description": f"AADSTS50105: Your administrator has configured the application "
                                     f"{app.get('displayName')} ('{client_id}') to block users unless they are "
                                     "specifically granted ('assigned') access to the application. The signed in "
                                     f"user '{user.get('userPrincipalName')}' is blocked because they are not a "
                                     "direct member of a group with access, nor had access directly assigned by "
                                     "an administrator. Please contact your administrator to assign access to "
                                     "this application.",
                **back})
        now = time.monotonic()
        for spent in [c for c, held in self._codes.items() if held.redeemed or held.expires_at <= now]:
            del self._codes[spent]
        code = secrets.token_urlsafe(48)
        self._codes[code] = _Code(client_id, redirect_uri, user["id"], frozenset(query.get("scope", "").split()),
                                  query.get("nonce"), now + self._code_lifetime_s())
        return _redirect(redirect_uri, {"code": code, **back, "session_state": secrets.token_hex(16)})

    @staticmethod
    def _assigned(state: TenantState, client_id: str, user_id: str) -> bool:
        """Assignment required: the user, or a group the user is a direct member of, holds an assignment."""
        sp = state.service_principal_by_app_id(client_id)
        if sp is None or not sp.get("appRoleAssignmentRequired"):
            return True
        holders = {user_id} | {group_id for group_id, members in state.group_members.items() if user_id in members}
        return any(a["resourceId"] == sp["id"] and a["principalId"] in holders
                   for a in state.app_role_assignments.values())

    # ------------------------------------------------------------------ the grant

    def redeem(self, form: Mapping[str, str], tenant_id: str) -> _Code | Answer:
        """The code of an authorization_code grant, once known, unexpired, unused and bound to this client."""
        code = self._codes.get(form.get("code", ""))
        if code is None:
            return self._error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if code.redeemed:
            return self._error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                                                            "please retry with a new valid code or use an existing "
                                                            "refresh token.")
        if time.monotonic() >= code.expires_at:
            return self._error(400, "invalid_grant", 70008, "The provided authorization code or refresh token has "
                                                            "expired due to inactivity. Send a new interactive "
                                                            "authorization request for this user and resource.")
        if code.client_id.lower() != form.get("client_id", "").lower():
            return self._error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed: the code was "
                                                            "issued to another client.")
        if code.redirect_uri != form.get("redirect_uri"):
            return self._error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed: redirect_uri "
                                                            "differs from the one of the authorization request.")
        code.redeemed = True
        return code

    def id_token(self, code: _Code, tenant_id: str) -> str | None:
        if "openid" not in code.scopes:
            return None
        return self._key.sign(id_token_claims(self._state_of(), code.client_id, code.user_id, code.scopes,
                                              tenant_id, code.nonce))


def id_token_claims(state: TenantState, client_id: str, user_id: str, scopes: frozenset[str], tenant_id: str,
                    nonce: str | None) -> dict[str, Any]:
    """The v2.0 ID token's claims for this user, application and scopes (the rules in the module docstring)."""
    user = state.users_by_id[user_id]
    app = state.application_by_app_id(client_id) or {}
    optional = {c.get("name") for c in ((app.get("optionalClaims") or {}).get("idToken") or ())}
    now = int(time.time())
    pairwise = hashlib.sha256(f"{client_id.lower()}:{user_id}".encode()).digest()
    claims: dict[str, Any] = {
        "aud": client_id, "iss": f"{LOGIN_HOST}/{tenant_id}/v2.0", "iat": now, "nbf": now,
        "exp": now + ID_TOKEN_LIFETIME_S, "sub": base64.urlsafe_b64encode(pairwise).decode().rstrip("="),
        "oid": user_id, "tid": tenant_id, "ver": "2.0", "uti": secrets.token_urlsafe(16),
    }
    if nonce:
        claims["nonce"] = nonce
    if "profile" in scopes:
        claims["name"] = user.get("displayName")
        claims["preferred_username"] = user.get("userPrincipalName")
        if "given_name" in optional:
            claims["given_name"] = user.get("givenName")
        if "family_name" in optional:
            claims["family_name"] = user.get("surname")
    if ("email" in scopes or "email" in optional) and _email_allowed(state, app, user.get("mail")):
        claims["email"] = user.get("mail")
    return {name: value for name, value in claims.items() if value is not None}


def _email_allowed(state: TenantState, app: Mapping[str, Any], mail: Any) -> bool:
    """Multi-tenant applications get no email of a domain the tenant has not verified (since June 2023)."""
    if not isinstance(mail, str) or "@" not in mail:
        return False
    if app.get("signInAudience", "AzureADMyOrg") == "AzureADMyOrg":
        return True
    domain = mail.rsplit("@", 1)[1].lower()
    return any(d["id"].lower() == domain and d.get("isVerified") for d in state.tenant.get("domains", ()))


def _error_page(code: int, description: str) -> Answer:
    return html_page(400, "Sign in to your account", f"AADSTS{code}: {description}")


def _redirect(redirect_uri: str, parameters: Mapping[str, str]) -> Answer:
    separator = "&" if "?" in redirect_uri else "?"
    return Answer(302, None, {"Location": f"{redirect_uri}{separator}{urlencode(parameters)}"})
