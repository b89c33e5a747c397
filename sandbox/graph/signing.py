"""The login emulator's token-signing key: a real RSA key, published in the JWKS, that signs ID tokens RS256.

A relying party (the Sekoia.io emulator, or any OIDC library) checks an ID token's signature with
the key the JWKS names by `kid`, as it would against Entra ID; a fake modulus could not be checked.
Entra's JWKS entries carry `kty, use, kid, x5t, n, e, x5c, issuer`; so do ours, with a self-signed
certificate in x5c. Generating a 2048-bit key takes a noticeable fraction of a second, so one key
is made per seed and process and shared by every emulator built with that seed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _uint(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass(frozen=True)
class SigningKey:
    private_key: rsa.RSAPrivateKey
    key_id: str
    certificate_der: bytes

    def jwk(self, issuer: str) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "kid": self.key_id, "x5t": self.key_id,
                "n": _b64url(_uint(numbers.n)), "e": _b64url(_uint(numbers.e)),
                "x5c": [base64.b64encode(self.certificate_der).decode()],
                "cloud_instance_name": "microsoftonline.com", "issuer": issuer}

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS, RS256, with Entra's header (typ, alg, kid)."""
        return jwt.encode(dict(claims), self.private_key, algorithm="RS256",
                          headers={"typ": "JWT", "kid": self.key_id})


@functools.cache
def signing_key(seed: int) -> SigningKey:
    """The key of every emulator built with `seed` in this process (RSA keys cannot be drawn from a seed)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sandbox login emulator {seed}")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                   .sign(private_key, hashes.SHA256()))
    der = certificate.public_bytes(serialization.Encoding.DER)
    # Entra's kid is the certificate's SHA-1 thumbprint (x5t), base64url
    key_id = _b64url(hashlib.sha1(der).digest())  # noqa: S324 - a thumbprint, not security
    return SigningKey(private_key, key_id, der)
