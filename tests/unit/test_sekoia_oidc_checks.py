"""The Sekoia.io emulator's checks of an ID token (sandbox/sekoia/oidc.py), with real RS256 keys.

A relying party that accepted a token signed by another key, for another audience or issuer, or
expired, or with another nonce, would prove nothing: each is refused, saying why.
"""

from __future__ import annotations

import time

import pytest

from sandbox.graph.signing import signing_key
from sandbox.sekoia.oidc import _Refused, _verify

ISSUER = "https://login.microsoftonline.com/8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10/v2.0"
CLIENT = "2102c9f0-652f-438b-b643-d204bb366825"


def claims(**changes):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "iat": now, "nbf": now, "exp": now + 3600, "sub": "s", "nonce": "n1"}
    return {**base, **changes}


def jwks(seed: int = 0) -> dict:
    return {"keys": [signing_key(seed).jwk(ISSUER)]}


def test_a_good_token_passes():
    assert _verify(signing_key(0).sign(claims()), jwks(), CLIENT, ISSUER, "n1")["sub"] == "s"


@pytest.mark.parametrize(("token_seed", "changes", "nonce", "said"), [
    (1, {}, "n1", "no key"),  # signed by a key the JWKS does not publish
    (0, {"aud": "00000000-0000-0000-0000-000000000001"}, "n1", "audience"),
    (0, {"iss": "https://sts.windows.net/8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10/"}, "n1", "issuer"),
    (0, {"exp": int(time.time()) - 10}, "n1", "expired"),
    (0, {}, "another", "nonce"),
])
def test_a_bad_token_is_refused_saying_why(token_seed, changes, nonce, said):
    token = signing_key(token_seed).sign(claims(**changes))
    with pytest.raises(_Refused) as refused:
        _verify(token, jwks(), CLIENT, ISSUER, nonce)
    assert refused.value.stage == "id_token" and said in refused.value.reason.lower()


def test_a_token_whose_key_id_is_borrowed_fails_the_signature():
    other = signing_key(1)
    token = other.sign(claims())
    published = {"keys": [{**signing_key(0).jwk(ISSUER), "kid": other.key_id}]}  # the kid, not the key
    with pytest.raises(_Refused) as refused:
        _verify(token, published, CLIENT, ISSUER, "n1")
    assert "signature" in refused.value.reason.lower()
