"""Receiving side of Graph change notifications: resource-data decryption, validation tokens, resource paths.

Pure functions (no Flask, no database). Decryption follows Graph's documented scheme, which the sandbox's
``plugin.sandbox.graph_crypto`` produces: ``dataKey`` is the AES-256 key wrapped with our certificate's public key
(RSA-OAEP, SHA-1, MGF1-SHA-1); ``dataSignature`` is base64 HMAC-SHA256 under that key over the *decoded* ``data``
and is checked (constant time) before anything is decrypted; ``data`` is AES-CBC with PKCS7 padding and
IV = the key's first 16 bytes. ``validationTokens`` are JWTs from Graph's change-notification publisher, signed
by the tenant's authority: RS256, ``aud`` = our app id, ``iss`` = ``https://sts.windows.net/{tenant}/``,
``appid`` = the publisher, not expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: Graph's change-notification publisher (the ``appid`` of every validation token).
NOTIFICATION_PUBLISHER_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
#: Clock skew tolerated on ``exp``/``nbf`` of validation tokens.
VALIDATION_TOKEN_LEEWAY = 300
_AES_KEY_BYTES = 32
_CERT_MARKER = b"-----BEGIN CERTIFICATE-----"
# teams('T')/channels('C')/messages('M')[/replies('R')], or the same with slashes (teams/T/channels/C/…).
_SEGMENT = r"(?:\('(?P<{0}>[^']+)'\)|/(?P<{0}s>[^/()']+))"
_RESOURCE = re.compile(
    "^/?teams" + _SEGMENT.format("team") + "/channels" + _SEGMENT.format("channel")
    + "/messages" + _SEGMENT.format("message") + "(?:/replies" + _SEGMENT.format("reply") + ")?$"
)


class NotificationCryptoError(ValueError):
    """Encrypted resource data that cannot be trusted or read (bad signature, wrong key, garbage)."""


class ValidationTokenError(ValueError):
    """A ``validationTokens`` JWT that does not prove the notification came from Graph for us."""


@dataclass(frozen=True)
class NotificationKey:
    """Our private key for resource data, and the certificate's thumbprint when the PEM file carries it."""

    private_key: rsa.RSAPrivateKey
    thumbprint: str | None = None  # SHA-1, upper-case hex, as ``encryptionCertificateThumbprint``


@dataclass(frozen=True)
class MessageResource:
    """The channel message a notification's ``resource`` names."""

    team_id: str
    channel_id: str
    message_id: str  # the root post's id
    reply_id: str | None = None

    @property
    def path(self) -> str:
        """The Graph v1.0 path (without the version) to GET this message or reply."""
        base = f"/teams/{quote(self.team_id, safe='')}/channels/{quote(self.channel_id, safe=':@')}"
        path = f"{base}/messages/{quote(self.message_id, safe='')}"
        return f"{path}/replies/{quote(self.reply_id, safe='')}" if self.reply_id else path


def load_notification_key(path: str | Path) -> NotificationKey:
    """Read the PEM private key (optionally followed or preceded by its certificate) that subscriptions use."""
    data = Path(path).read_bytes()
    return parse_notification_key(data)


def parse_notification_key(data: bytes) -> NotificationKey:
    """Parse PEM bytes holding an RSA private key and, optionally, its X.509 certificate."""
    thumb = None
    if _CERT_MARKER in data:
        start = data.index(_CERT_MARKER)
        certificate = x509.load_pem_x509_certificate(data[start:])
        thumb = certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Graph's thumbprint is SHA-1
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"GRAPH_NOTIFICATION_KEY holds no usable PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("GRAPH_NOTIFICATION_KEY must be an RSA private key (Graph encrypts with RSA-OAEP)")
    return NotificationKey(key, thumb)


def _oaep() -> OAEP:
    return OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303 - Graph's choice


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise NotificationCryptoError(f"encryptedContent.{name} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NotificationCryptoError(f"encryptedContent.{name} is not base64") from None


def decrypt_content(encrypted: Mapping[str, Any], key: NotificationKey) -> bytes:
    """The plaintext of ``encryptedContent``; NotificationCryptoError unless the signature verifies first."""
    thumb = encrypted.get("encryptionCertificateThumbprint")
    if key.thumbprint and isinstance(thumb, str) and thumb and thumb.upper() != key.thumbprint:
        # Encrypted for another certificate (e.g. before a key rollover): our key cannot open it.
        raise NotificationCryptoError("encryptedContent was encrypted for another certificate")
    wrapped, data = _b64(encrypted.get("dataKey"), "dataKey"), _b64(encrypted.get("data"), "data")
    signature = _b64(encrypted.get("dataSignature"), "dataSignature")
    try:
        symmetric = key.private_key.decrypt(wrapped, _oaep())
    except ValueError:
        raise NotificationCryptoError("dataKey cannot be unwrapped with our private key") from None
    if len(symmetric) != _AES_KEY_BYTES:
        raise NotificationCryptoError("dataKey is not an AES-256 key")
    expected = hmac.new(symmetric, data, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise NotificationCryptoError("dataSignature does not match the encrypted data")
    if not data or len(data) % 16:
        raise NotificationCryptoError("data is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(symmetric), modes.CBC(symmetric[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise NotificationCryptoError("data has invalid padding") from None


def decrypt_resource(encrypted: Mapping[str, Any], key: NotificationKey) -> dict[str, Any]:
    """The resource (a chatMessage) carried in ``encryptedContent``, as a JSON object."""
    plaintext = decrypt_content(encrypted, key)
    try:
        document = json.loads(plaintext)
    except (UnicodeDecodeError, ValueError):
        raise NotificationCryptoError("decrypted data is not JSON") from None
    if not isinstance(document, dict):
        raise NotificationCryptoError("decrypted data is not a JSON object")
    return document


def validate_validation_token(
    token: str,
    *,
    signing_key: Callable[[str], Any | None],
    client_id: str,
    tenant_id: str,
    leeway: int = VALIDATION_TOKEN_LEEWAY,
) -> dict[str, Any]:
    """The claims of one ``validationTokens`` JWT; ValidationTokenError saying what is wrong otherwise."""
    # signing_key(kid) returns the authority's public key for a key id (e.g. JwksCache.key), or None.
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ValidationTokenError("validation token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise ValidationTokenError("validation token is not RS256-signed")
    key = signing_key(str(header.get("kid") or ""))
    if key is None:
        raise ValidationTokenError("validation token is signed with an unknown key")
    try:
        claims = jwt.decode(
            token, key, algorithms=["RS256"], audience=client_id, issuer=f"https://sts.windows.net/{tenant_id}/",
            leeway=leeway, options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise ValidationTokenError("validation token has expired") from None
    except jwt.InvalidAudienceError:
        raise ValidationTokenError("validation token is for another application") from None
    except jwt.InvalidIssuerError:
        raise ValidationTokenError("validation token comes from another tenant or issuer") from None
    except jwt.PyJWTError as exc:
        raise ValidationTokenError(f"validation token is invalid ({type(exc).__name__})") from None
    if claims.get("appid", claims.get("azp")) != NOTIFICATION_PUBLISHER_APP_ID:
        raise ValidationTokenError("validation token was not issued to Graph's notification publisher")
    return claims


def parse_message_resource(resource: str) -> MessageResource | None:
    """The team, channel, message and reply a notification ``resource`` names; None for other resources."""
    match = _RESOURCE.match(resource.strip())
    if match is None:
        return None
    parts = {name: match.group(name) or match.group(f"{name}s") for name in ("team", "channel", "message", "reply")}
    return MessageResource(parts["team"], parts["channel"], parts["message"], parts["reply"])
