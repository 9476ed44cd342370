"""Client authentication at the dev token endpoint: client secret or certificate-signed client assertion."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from plugin.sandbox.aad_errors import AadError
from plugin.sandbox.aad_registry import ClientRegistration
from plugin.sandbox.keys import thumbprints

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ALGORITHMS = ("RS256", "PS256")  # MSAL signs RS256 with a SHA-1 thumbprint, PS256 with a SHA-256 one
_CERT_DOCS = (
    "Review the documentation at "
    "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials ."
)


def authenticate_client(
    client: ClientRegistration,
    form: Mapping[str, str],
    basic: tuple[str, str] | None,
    *,
    audiences: Iterable[str],
    required: bool = True,
) -> str | None:
    """Check the client's credential; returns ``appidacr`` ("1" secret, "2" certificate, "0" public)."""
    assertion = form.get("client_assertion")
    secret = form.get("client_secret") or (basic[1] if basic and basic[0] == client.client_id else None)
    if assertion:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise AadError(
                "invalid_request",
                50027 if form.get("client_assertion_type") else 900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        _verify_assertion(client, assertion, list(audiences))
        return "2"
    if secret is not None:
        if client.client_secret is None or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise AadError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client.client_id}'.",
                status=401,
            )
        return "1"
    if required or is_confidential(client):
        raise AadError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            status=401,
        )
    return "0"


def is_confidential(client: ClientRegistration) -> bool:
    """A client with a secret or a certificate must authenticate on every grant."""
    return bool(client.client_secret or client.certificates or client.certificate_thumbprints)


def _verify_assertion(client: ClientRegistration, assertion: str, audiences: list[str]) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.DecodeError as exc:
        raise AadError("invalid_request", 50027, "JWT token is invalid or malformed.") from exc
    alg = header.get("alg")
    if alg not in _ALGORITHMS:
        raise AadError(
            "invalid_client",
            5002738,
            f"Invalid JWT token. '{alg}' is not a supported signature algorithm.",
            status=401,
        )
    certificate = _signing_certificate(client, header)
    try:
        claims = jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]
            algorithms=[alg],
            audience=audiences,
            options={"require": ["aud", "exp", "iss", "sub"]},
            leeway=300,
        )
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise AadError(
            "invalid_client", 700024, "Client assertion is not within its valid time range.", status=401
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise AadError(
            "invalid_client",
            700023,
            f"Client assertion audience claim does not match Realm issuer. {_CERT_DOCS}",
            status=401,
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise AadError("invalid_client", 700027, "Client assertion contains an invalid signature.", status=401) from exc
    except jwt.PyJWTError as exc:
        raise AadError("invalid_request", 50027, "JWT token is invalid or malformed.") from exc
    if claims["iss"] != client.client_id or claims["sub"] != client.client_id:
        raise AadError(
            "invalid_client",
            700021,
            f"Client assertion application identifier doesn't match 'client_id' parameter. {_CERT_DOCS}",
            status=401,
        )


def _signing_certificate(client: ClientRegistration, header: Mapping[str, object]) -> x509.Certificate:
    # MSAL sends base64url thumbprints with "=" padding; JOSE omits it. Entra accepts both.
    wanted = {str(header[name]).rstrip("=") for name in ("x5t", "x5t#S256") if header.get(name)}
    for certificate in _registered_certificates(client, header):
        if wanted & set(thumbprints(certificate)):
            return certificate
    shown = header.get("x5t") or header.get("x5t#S256") or ""
    raise AadError(
        "invalid_client",
        700027,
        "The certificate with identifier used to sign the client assertion is not registered on application. "
        f"[Reason - The key was not found., Thumbprint of key used by client: '{_hex(str(shown))}', Please "
        "visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id "
        f"'{client.client_id}'.]",
        status=401,
    )


def _registered_certificates(client: ClientRegistration, header: Mapping[str, object]) -> list[x509.Certificate]:
    certificates = [x509.load_pem_x509_certificate(pem.encode()) for pem in client.certificates]
    chain = header.get("x5c")
    if client.certificate_thumbprints and isinstance(chain, list) and chain:
        try:
            leaf = x509.load_der_x509_certificate(base64.b64decode(str(chain[0])))
        except (ValueError, binascii.Error):
            return certificates
        registered = {_normalise(t) for t in client.certificate_thumbprints}
        if {leaf.fingerprint(hashes.SHA1()).hex(), leaf.fingerprint(hashes.SHA256()).hex()} & registered:  # noqa: S303
            certificates.append(leaf)
    return certificates


def _normalise(thumbprint: str) -> str:
    return "".join(ch for ch in thumbprint.lower() if ch in "0123456789abcdef")


def _hex(x5t: str) -> str:
    try:
        return base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4)).hex().upper()
    except (ValueError, binascii.Error):
        return ""
