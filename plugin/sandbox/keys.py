"""Signing keys of the dev Entra authority: an RSA key set with rotation, and a sealing key for opaque tokens.

Two keys are published at any time: the newest one signs, the previous one stays in the JWKS so tokens it
signed keep verifying until the next rotation drops it. With a ``key_dir`` the keys live there as PEM files
(``key-000001.pem``: private key followed by its self-signed certificate) so several processes share one
key set; a rotation in one process is picked up by the others on their next access (the directory listing
is compared on every access, PEM files are parsed only when it changed).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: single-process use only
    fcntl = None  # type: ignore[assignment]

PUBLISHED_KEYS = 2
_CERT_MARKER = b"-----BEGIN CERTIFICATE-----"


def b64url(data: bytes) -> str:
    """Base64url without padding (JOSE encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path`` with owner-only permissions."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class SigningKey:
    """One RSA key with its self-signed certificate; ``kid`` is the certificate's x5t, as in Entra."""

    seq: int
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def kid(self) -> str:
        return self.x5t

    @property
    def x5t(self) -> str:
        return b64url(self.certificate.fingerprint(hashes.SHA1()))  # noqa: S303 - x5t is SHA-1 by definition

    def jwk(self, issuer: str | None = None) -> dict[str, Any]:
        """The public JWK as Entra publishes it (n, e, x5t, x5c; issuer on the v2 endpoint)."""
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        key: dict[str, Any] = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "x5c": [base64.b64encode(der).decode("ascii")],
        }
        if issuer:
            key["issuer"] = issuer
        return key

    def to_pem(self) -> bytes:
        key_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return key_pem + self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem(cls, seq: int, data: bytes) -> SigningKey:
        cut = data.index(_CERT_MARKER)
        private_key = serialization.load_pem_private_key(data[:cut], password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("dev authority keys must be RSA")
        return cls(seq, private_key, x509.load_pem_x509_certificate(data[cut:]))

    @classmethod
    def generate(cls, seq: int) -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dev-authority.ambassador.local")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=5 * 365))
            .sign(private_key, hashes.SHA256())
        )
        return cls(seq, private_key, certificate)


class KeySet:
    """The authority's published signing keys (newest first), optionally persisted in ``key_dir``."""

    def __init__(self, key_dir: Path | None = None) -> None:
        self._dir = Path(key_dir) if key_dir is not None else None
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._listing: tuple[str, ...] = ()
        with self._lock:
            if self._dir is None:
                self._keys = [SigningKey.generate(seq) for seq in range(PUBLISHED_KEYS, 0, -1)]
            else:
                with file_lock(self._dir / ".keys.lock"):
                    listing = self._list()
                    for seq in range(len(listing) + 1, PUBLISHED_KEYS + 1):
                        self._store(SigningKey.generate(seq))
                self._refresh()

    def published(self) -> list[SigningKey]:
        """Keys in the JWKS, newest (the signing key) first."""
        with self._lock:
            self._refresh()
            return list(self._keys)

    def signing_key(self) -> SigningKey:
        """The key new tokens are signed with."""
        return self.published()[0]

    def find(self, kid: str) -> SigningKey | None:
        """The published key with this ``kid``, if any."""
        return next((key for key in self.published() if key.kid == kid), None)

    def rotate(self) -> SigningKey:
        """Make a new key the signing key; the previous one stays published, older ones are dropped."""
        with self._lock:
            if self._dir is None:
                new = SigningKey.generate(self._keys[0].seq + 1)
                self._keys = [new, *self._keys][:PUBLISHED_KEYS]
                return new
            with file_lock(self._dir / ".keys.lock"):
                listing = self._list()
                new = SigningKey.generate(_seq(listing[0]) + 1 if listing else 1)
                self._store(new)
                for stale in listing[PUBLISHED_KEYS - 1 :]:
                    (self._dir / stale).unlink(missing_ok=True)
            self._refresh()
            return new

    def jwks(self, issuer: str | None = None) -> dict[str, Any]:
        """The JWKS document."""
        return {"keys": [key.jwk(issuer) for key in self.published()]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign ``claims`` as an RS256 JWT with the signing key (``typ``, ``x5t``, ``kid`` headers)."""
        key = self.signing_key()
        return jwt.encode(
            claims, key.private_key, algorithm="RS256", headers={"typ": "JWT", "x5t": key.x5t, "kid": key.kid}
        )

    def _list(self) -> tuple[str, ...]:
        assert self._dir is not None
        names = (p.name for p in self._dir.glob("key-*.pem"))
        return tuple(sorted(names, key=_seq, reverse=True))

    def _store(self, key: SigningKey) -> None:
        assert self._dir is not None
        write_private(self._dir / f"key-{key.seq:06d}.pem", key.to_pem())

    def _refresh(self) -> None:
        if self._dir is None:
            return
        listing = self._list()
        if listing == self._listing:
            return
        keys = []
        for name in listing[:PUBLISHED_KEYS]:
            with contextlib.suppress(FileNotFoundError):  # dropped by another process's rotation meanwhile
                keys.append(SigningKey.from_pem(_seq(name), (self._dir / name).read_bytes()))
        if keys:
            self._keys, self._listing = keys, listing


def _seq(name: str) -> int:
    return int(name.removeprefix("key-").removesuffix(".pem"))


class Sealer:
    """Seals small payloads into opaque strings (refresh tokens, authorization codes) with AES-GCM."""

    _KEY_FILE = "sealing.key"

    def __init__(self, key_dir: Path | None = None) -> None:
        if key_dir is None:
            self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
            return
        path = Path(key_dir) / self._KEY_FILE
        with file_lock(Path(key_dir) / ".keys.lock"):
            if not path.exists():
                write_private(path, AESGCM.generate_key(bit_length=256))
            self._aead = AESGCM(path.read_bytes())

    def seal(self, payload: bytes, purpose: str) -> str:
        """Encrypt ``payload`` bound to ``purpose``."""
        nonce = secrets.token_bytes(12)
        return b64url(nonce + self._aead.encrypt(nonce, payload, purpose.encode()))

    def unseal(self, token: str, purpose: str) -> bytes | None:
        """The payload, or None when ``token`` was not sealed by this key for ``purpose``."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode())
        except Exception:  # noqa: BLE001 - any tampering or garbage is simply "not ours"
            return None


def thumbprints(certificate: x509.Certificate) -> tuple[str, str]:
    """(x5t, x5t#S256) of a certificate, base64url as they appear in JOSE headers."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())  # noqa: S324
