"""Encrypted resource data in change notifications (``encryptedContent``), exactly as Graph documents it.

Encryption: a fresh random 32-byte AES-256 key per item; ``dataKey`` = that key wrapped with the subscriber's
certificate public key (RSA-OAEP with SHA-1 and MGF1-SHA-1); ``data`` = AES-CBC with PKCS7 padding and IV =
the key's first 16 bytes; ``dataSignature`` = HMAC-SHA256 under the symmetric key over the encrypted bytes
(the decoded ``data``, as the docs' C# sample does); all base64. ``encryptionCertificateThumbprint`` is the
certificate's SHA-1 thumbprint in upper-case hex. :func:`decrypt_content` is the receiving side, for tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MIN_KEY_BITS = 2048
MAX_KEY_BITS = 4096


def _oaep() -> OAEP:
    return OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303 - Graph's choice


def load_certificate(encoded: str) -> x509.Certificate:
    """The subscriber's ``encryptionCertificate`` (base64 DER, or PEM); ValueError unless RSA 2048-4096."""
    text = encoded.strip()
    if text.startswith("-----BEGIN"):
        certificate = x509.load_pem_x509_certificate(text.encode())
    else:
        certificate = x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or not MIN_KEY_BITS <= key.key_size <= MAX_KEY_BITS:
        raise ValueError("the encryption certificate must carry an RSA key of 2048 to 4096 bits")
    return certificate


def thumbprint(certificate: x509.Certificate) -> str:
    """SHA-1 thumbprint in upper-case hex, as ``encryptionCertificateThumbprint``."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the thumbprint is SHA-1


def encrypt_content(plaintext: bytes, certificate: x509.Certificate, certificate_id: str) -> dict[str, Any]:
    """The ``encryptedContent`` object for ``plaintext`` (the resource's JSON)."""
    key = os.urandom(32)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    data = encryptor.update(padded) + encryptor.finalize()
    return {
        "data": base64.b64encode(data).decode("ascii"),
        "dataSignature": base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode("ascii"),
        "dataKey": base64.b64encode(public_key.encrypt(key, _oaep())).decode("ascii"),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": thumbprint(certificate),
    }


def decrypt_content(encrypted: dict[str, Any], private_key: rsa.RSAPrivateKey) -> bytes:
    """Verify ``dataSignature`` and decrypt ``data``; ValueError when the signature does not match."""
    key = private_key.decrypt(base64.b64decode(encrypted["dataKey"]), _oaep())
    data = base64.b64decode(encrypted["data"])
    expected = base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode("ascii")
    if not hmac.compare_digest(expected, encrypted["dataSignature"]):
        raise ValueError("dataSignature does not match the encrypted data")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()
