"""Sekoia.io's side of an SSO login, for real: the OIDC authorization-code flow against the login emulator.

With the provider URL, client ID and client secret the community's SSO holds, as Sekoia.io does:
1. the discovery document (`<provider url>v2.0/.well-known/openid-configuration`), whose issuer
   must be the tenant's own v2 issuer;
2. GET the authorization endpoint (response_type=code, scope `openid profile email`, state, nonce,
   redirect_uri = Sekoia.io's callback), the browser's part: the user is named by the login
   emulator's `X-Sandbox-User` header, and the redirect is read, not followed;
3. the callback: the state must come back; the code is redeemed at the token endpoint with the
   client secret (client_secret_post);
4. the JWKS, and the ID token's RS256 signature, issuer, audience (the client ID), expiry and nonce;
5. Sekoia.io refuses a login missing the email, first, last or full name (its SSO docs: the
   user's profile needs all four), and otherwise accepts it.

Requests reach only loopback addresses: the sandbox maps login.microsoftonline.com to its
emulator (`routes`), and a provider URL that would leave the machine is refused, never fetched.
The result names the claims received, never the client secret.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

SANDBOX_USER_HEADER = "X-Sandbox-User"
SCOPES = "openid profile email"
# Sekoia.io's own words for the claims its user profile needs
REQUIRED_CLAIMS = {"email": "email", "given_name": "first name", "family_name": "last name", "name": "full name"}
_AADSTS = re.compile(r"AADSTS\d+:[^<]*")


@dataclass
class LoginResult:
    accepted: bool
    user: str
    stage: str  # where it ended: discovery, authorize, callback, token, id_token, profile, done
    reason: str = ""
    claims: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Refused(Exception):
    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage, self.reason = stage, reason


def _resolve(url: str, routes: Mapping[str, str]) -> str:
    for public, actual in routes.items():
        if url == public or url.startswith(public.rstrip("/") + "/"):
            url = actual.rstrip("/") + url[len(public.rstrip("/")):]
            break
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise _Refused("discovery", f"{url} is not the sandbox's login emulator; the emulated Sekoia.io never "
                                    "leaves the machine")
    return url


def oidc_login(provider_url: str, client_id: str, client_secret: str, user: str, *, callback_url: str,
               routes: Mapping[str, str], timeout: float = 10.0) -> LoginResult:
    """Log `user` in through SSO as Sekoia.io would; a refusal says at which stage and why."""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            claims = _flow(http, provider_url, client_id, client_secret, user, callback_url, routes)
    except _Refused as refused:
        return LoginResult(False, user, refused.stage, refused.reason)
    except httpx.HTTPError as exc:
        return LoginResult(False, user, "discovery", f"the identity provider could not be reached ({exc})")
    missing = [label for claim, label in REQUIRED_CLAIMS.items() if not str(claims.get(claim) or "").strip()]
    if missing:
        return LoginResult(False, user, "profile", f"the ID token has no {', '.join(missing)}: Sekoia.io needs the "
                                                   "user's email, first, last and full name", claims)
    return LoginResult(True, user, "done", "", claims)


def _flow(http: httpx.Client, provider_url: str, client_id: str, client_secret: str, user: str,
          callback_url: str, routes: Mapping[str, str]) -> dict[str, Any]:
    discovery = _json(http.get(_resolve(provider_url.rstrip("/") + "/v2.0/.well-known/openid-configuration",
                                        routes)), "discovery")
    expected_issuer = provider_url.rstrip("/") + "/v2.0"
    if discovery.get("issuer") != expected_issuer:
        raise _Refused("discovery", f"the discovery document names issuer {discovery.get('issuer')}, not "
                                    f"{expected_issuer}")
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    answer = http.get(_resolve(discovery["authorization_endpoint"], routes),
                      params={"client_id": client_id, "response_type": "code", "redirect_uri": callback_url,
                              "scope": SCOPES, "state": state, "nonce": nonce, "response_mode": "query"},
                      headers={SANDBOX_USER_HEADER: user})
    if answer.status_code != 302:
        found = _AADSTS.search(answer.text)
        raise _Refused("authorize", found.group(0).strip() if found else
                       f"the authorization endpoint answered {answer.status_code}, not a redirect")
    location = answer.headers.get("location", "")
    if location.split("?", 1)[0] != callback_url:
        raise _Refused("callback", f"the login came back to {location.split('?', 1)[0]}, not {callback_url}")
    back = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    if "error" in back:
        raise _Refused("callback", back.get("error_description") or back["error"])
    if back.get("state") != state:
        raise _Refused("callback", "the state did not come back unchanged")
    tokens = _json(http.post(_resolve(discovery["token_endpoint"], routes), data={
        "grant_type": "authorization_code", "code": back.get("code", ""), "redirect_uri": callback_url,
        "client_id": client_id, "client_secret": client_secret}), "token")
    if not isinstance(tokens.get("id_token"), str):
        raise _Refused("token", "the token endpoint answered no id_token")
    keys = _json(http.get(_resolve(discovery["jwks_uri"], routes)), "id_token")
    return _verify(tokens["id_token"], keys, client_id, expected_issuer, nonce)


def _verify(id_token: str, jwks: dict[str, Any], client_id: str, issuer: str, nonce: str) -> dict[str, Any]:
    try:
        kid = jwt.get_unverified_header(id_token).get("kid")
        key = next((k for k in jwks.get("keys", ()) if k.get("kid") == kid), None)
        if key is None:
            raise _Refused("id_token", f"no key {kid} in the provider's JWKS")
        claims = jwt.decode(id_token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=client_id,
                            issuer=issuer, options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]})
    except jwt.PyJWTError as exc:
        raise _Refused("id_token", f"the ID token was refused: {exc}") from None
    if claims.get("nonce") != nonce:
        raise _Refused("id_token", "the ID token's nonce is not the one sent")
    return dict(claims)


def _json(response: httpx.Response, stage: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        description = body.get("error_description") if isinstance(body, dict) else None
        raise _Refused(stage, str(description or f"{response.request.url.path} answered {response.status_code}"))
    return body
