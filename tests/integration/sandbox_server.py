"""Serve a WSGI app on a free loopback port over TLS in a thread, for tests that use real HTTP clients.

MSAL refuses non-https authorities, so the server gets a throw-away self-signed certificate for 127.0.0.1 and
clients are pointed at it (``verify=cert_path`` / an ``ssl.SSLContext``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from werkzeug.serving import WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed server certificate (also its own trust anchor) and its key."""

    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts only this certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed_cert(common_name: str = "127.0.0.1") -> tuple[str, str, x509.Certificate]:
    """(certificate PEM, private key PEM, certificate) for a fresh RSA key; SAN 127.0.0.1 and localhost."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert_pem, key_pem, cert


def tls_files(directory: Path) -> TlsFiles:
    """Write a loopback server certificate and key into ``directory``."""
    cert_pem, key_pem, _ = self_signed_cert()
    files = TlsFiles(directory / "server.crt", directory / "server.key")
    files.cert.write_text(cert_pem)
    files.key.write_text(key_pem)
    return files


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        """Keep test output clean; the request log carries nothing the tests need."""


class _Deferred:
    """The served app is built once the port (hence the external base URL) is known."""

    app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@contextmanager
def serve(build: Callable[[str], WSGIApplication], tls: TlsFiles) -> Iterator[tuple[str, WSGIApplication]]:
    """Serve ``build(base_url)`` on https://127.0.0.1:<free port> until the block ends; yields (base, app)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls.cert), str(tls.key))
    deferred = _Deferred()
    server = make_server("127.0.0.1", 0, deferred, threaded=True, ssl_context=context, request_handler=_QuietHandler)
    base = f"https://127.0.0.1:{server.server_port}"
    deferred.app = build(base)
    thread = threading.Thread(target=server.serve_forever, name="sandbox-server", daemon=True)
    thread.start()
    try:
        yield base, deferred.app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
