"""RS256 JSON Web Tokens with ``cryptography`` alone: verifying the service-account assertions of
the JWT-bearer grant, and signing the ``id_token`` the token endpoint returns for ``openid``.
"""

# Reference: https://www.rfc-editor.org/rfc/rfc7519 (JWT), https://www.rfc-editor.org/rfc/rfc7515 (JWS)

from __future__ import annotations

import base64
import binascii
import json
import threading
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNING_KID = "sandbox-google-id-token-key"
_lock = threading.Lock()
_signing_key: rsa.RSAPrivateKey | None = None


class MalformedJwt(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedJwt("bad base64url") from exc


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, signature not yet checked."""
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedJwt("a JWT has three parts")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise MalformedJwt("header or claims are not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise MalformedJwt("header and claims must be objects")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), b64url_decode(parts[2])


def verify_rs256(key: rsa.RSAPublicKey, signing_input: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def signing_key() -> rsa.RSAPrivateKey:
    """The key the sandbox signs id_tokens with (made once per process; published as JWKS)."""
    global _signing_key
    with _lock:
        if _signing_key is None:
            _signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _signing_key


def encode_rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None, kid: str = SIGNING_KID) -> str:
    key = key or signing_key()
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def jwks() -> dict[str, Any]:
    numbers = signing_key().public_key().public_numbers()

    def as_b64(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": SIGNING_KID,
                "n": as_b64(numbers.n),
                "e": as_b64(numbers.e),
            }
        ]
    }
