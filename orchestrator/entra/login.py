"""Login readiness: what can be proven, without a user, that Entra ID will let Sekoia.io log users in.

(a) the tenant's discovery document and its JWKS (orchestrator/entra/discovery.py);
(b) the token endpoint accepts the client secret Sekoia.io holds: one client-credentials grant
    (a secret made seconds ago is refused with AADSTS7000215 until it reaches every replica:
    with `wait_s`, that refusal is waited out, bounded, saying so);
(c) the authorize endpoint accepts the client ID with the registered redirect URI: one GET,
    redirects not followed; a page carrying AADSTS700016 (unknown client) or AADSTS50011 (redirect
    URI not registered) is a failure naming the fix. Without a browser session, Entra answers its
    sign-in page: that is success.
(d) in the sandbox only, the real login: GET the SSO login URL Sekoia.io answers, with the login
    emulator's `X-Sandbox-User` header naming a user and `?callback=` the region's redirect URI;
    the Sekoia.io emulator runs the whole authorization-code flow and answers its verdict and the
    claims it received.

Requests go through `Endpoints.resolve`, never follow redirects, and nothing here ever prints,
logs or raises the secret: texts coming back are scrubbed of it before they are quoted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from orchestrator.endpoints import Endpoints, is_loopback, require_https
from orchestrator.entra.discovery import DiscoveryResult, check_tenant_discovery
from orchestrator.errors import LoginNotReadyError
from orchestrator.secret import reveal

__all__ = ["LoginReadiness", "LoginNotReadyError", "check_login_readiness"]

SANDBOX_USER_HEADER = "X-Sandbox-User"
PROPAGATING = "AADSTS7000215"  # invalid secret: also what a secret not yet on every replica gets
_AADSTS = re.compile(r"AADSTS(\d+):?[^<\"]*")
_FIXES = {
    "700016": "the client ID is not an application of this tenant: check tenant_id, and that `apply` created the "
              "application (`sekoia-sso output ENV client_id`)",
    "50011": "the redirect URI is not registered on the application's web platform: `sekoia-sso apply ENV` puts "
             "it back",
}


@dataclass(frozen=True)
class LoginReadiness:
    discovery: DiscoveryResult
    redirect_uri: str
    secret_waited_s: float = 0.0
    sandbox_login: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        facts = asdict(self)
        facts["discovery"] = self.discovery.to_dict()
        return facts

    def describe(self) -> str:
        said = f"token endpoint accepts the secret; authorize accepts the client ID with {self.redirect_uri}"
        if self.sandbox_login is not None:
            said += f"; sandbox login of {self.sandbox_login.get('user')} accepted"
        return said


def check_login_readiness(target: Any, redirect_uri: str, *, endpoints: Endpoints, env_name: str,
                          sandbox_user: str | None = None, login_url: str | None = None, wait_s: float = 0.0,
                          on_wait: Callable[[str], None] | None = None,
                          sleep: Callable[[float], None] = time.sleep) -> LoginReadiness:
    """(a), (b), (c) and, with `sandbox_user` and `login_url`, (d); LoginNotReadyError (or DiscoveryError) when not.

    target: the SekoiaTarget (provider URL, tenant, client ID, the secret Sekoia.io holds)."""
    discovery = check_tenant_discovery(target.provider_url, target.tenant_id, endpoints=endpoints)
    secret = reveal(target.client_secret)
    with httpx.Client(timeout=15.0, follow_redirects=False, headers={"User-Agent": "sekoia-sso"}) as http:
        waited = _token_accepts(http, endpoints, discovery.token_endpoint, target.client_id, str(secret or ""),
                                env_name=env_name, wait_s=wait_s, on_wait=on_wait, sleep=sleep,
                                scope=f"{endpoints.graph_url}/.default")
        _authorize_accepts(http, endpoints, discovery.authorization_endpoint, target.client_id, redirect_uri,
                           env_name)
        verdict = None
        if sandbox_user and login_url:
            verdict = _sandbox_login(http, login_url, sandbox_user, redirect_uri, str(secret or ""))
    return LoginReadiness(discovery, redirect_uri, round(waited, 1), verdict)


def _token_accepts(http: httpx.Client, endpoints: Endpoints, token_endpoint: str, client_id: str, secret: str, *,
                   env_name: str, wait_s: float, on_wait: Callable[[str], None] | None,
                   sleep: Callable[[float], None], scope: str) -> float:
    """(b): the seconds waited for a propagating secret (0 when accepted at once)."""
    if not secret:
        raise LoginNotReadyError(f"no client secret to check: Sekoia.io holds none yet? Run `sekoia-sso apply "
                                 f"{env_name}`")
    url = require_https(endpoints.resolve(token_endpoint), what="the Entra ID token endpoint")
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": scope}
    started, delay, told = time.monotonic(), 0.5, False
    while True:
        response = _post_retrying_transient(http, url, form, token_endpoint, sleep)
        if response.status_code == 200:
            return time.monotonic() - started
        said = _scrub(_aadsts(response.text) or f"HTTP {response.status_code}", secret)
        waited = time.monotonic() - started
        if PROPAGATING in said and waited + delay <= wait_s:
            if on_wait and not told:
                on_wait(f"Entra ID does not accept the client secret yet ({PROPAGATING}): a new secret takes "
                        f"seconds to reach every replica; waiting up to {wait_s:.0f} s")
                told = True
            sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        code = next((c for c in _FIXES if f"AADSTS{c}:" in said), None)
        hint = (f"; a secret made in the last minute may still be propagating: re-run `sekoia-sso status "
                f"{env_name}`, else `sekoia-sso apply {env_name}` gives Sekoia.io a working one"
                if PROPAGATING in said else f" Fix: {_FIXES[code].replace('ENV', env_name)}" if code else "")
        raise LoginNotReadyError(f"the token endpoint refuses the client secret Sekoia.io holds (client "
                                 f"credentials grant): {said}{hint}")


TRANSIENT = frozenset({429, 500, 502, 503, 504})
TRANSIENT_TRIES = 3


def _post_retrying_transient(http: httpx.Client, url: str, form: dict[str, str], shown_url: str,
                             sleep: Callable[[float], None]) -> httpx.Response:
    """One answer of the token endpoint, a throttled or failed one retried twice (1 s, 2 s) first."""
    for attempt in range(TRANSIENT_TRIES):
        last = attempt == TRANSIENT_TRIES - 1
        try:
            response = http.post(url, data=form)
        except httpx.TransportError as exc:
            if last:
                raise LoginNotReadyError(f"the token endpoint {shown_url} could not be reached "
                                         f"({type(exc).__name__}, {TRANSIENT_TRIES} tries)") from None
        else:
            if response.status_code not in TRANSIENT or last:
                return response
        sleep(2.0 ** attempt)
    raise AssertionError("unreachable: the last try returns or raises")


def _authorize_accepts(http: httpx.Client, endpoints: Endpoints, authorization_endpoint: str, client_id: str,
                       redirect_uri: str, env_name: str) -> None:
    """(c): one GET, no user, no redirect followed; an AADSTS error page is a failure naming the fix."""
    url = require_https(endpoints.resolve(authorization_endpoint), what="the Entra ID authorize endpoint")
    try:
        response = http.get(url, params={"client_id": client_id, "response_type": "code",
                                         "redirect_uri": redirect_uri, "scope": "openid profile email",
                                         "response_mode": "query", "state": "sekoia-sso-login-readiness"})
    except httpx.HTTPError as exc:
        raise LoginNotReadyError(f"the authorize endpoint {authorization_endpoint} could not be reached "
                                 f"({type(exc).__name__})") from None
    found = _AADSTS.search(response.text)
    if found is not None:
        fix = _FIXES.get(found.group(1), "see the error code's page at https://login.microsoftonline.com/error")
        raise LoginNotReadyError(f"the authorize endpoint refuses client ID {client_id} with redirect URI "
                                 f"{redirect_uri}: {found.group(0).strip()[:300]} Fix: {fix.replace('ENV', env_name)}")
    if response.status_code >= 400:
        raise LoginNotReadyError(f"the authorize endpoint answered {response.status_code} to client ID {client_id} "
                                 f"with redirect URI {redirect_uri}")


def _sandbox_login(http: httpx.Client, login_url: str, user: str, callback: str, secret: str) -> dict[str, Any]:
    """(d), the sandbox only: Sekoia.io's emulator logs `user` in for real and answers its verdict. Its one
    emulator stands for every region: `callback` is the region's redirect URI."""
    if not is_loopback(login_url):
        raise LoginNotReadyError(f"the SSO login URL {login_url} is not the sandbox's: no real login is tried "
                                 "outside the sandbox")
    try:
        response = http.get(login_url, params={"callback": callback}, headers={SANDBOX_USER_HEADER: user},
                            timeout=60.0)
        verdict = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise LoginNotReadyError(f"the sandbox's SSO login of {user} at {login_url} gave no verdict "
                                 f"({type(exc).__name__})") from None
    if not isinstance(verdict, dict) or not verdict.get("accepted"):
        reason = _scrub(str((verdict or {}).get("reason") or f"HTTP {response.status_code}"), secret)
        raise LoginNotReadyError(f"the sandbox's SSO login of {user} was refused at "
                                 f"{(verdict or {}).get('stage', '?')}: {reason}")
    claims = verdict.get("claims") or {}
    return {"user": user, "accepted": True, "claims": {k: claims[k] for k in sorted(claims)}}


def _aadsts(text: str) -> str | None:
    found = _AADSTS.search(text)
    return found.group(0).split(" Trace ID:")[0].strip()[:300] if found else None


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "[secret]") if secret else text
