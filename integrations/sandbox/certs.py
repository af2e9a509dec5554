"""The sandbox's own certificate authority and its loopback server certificate.

msal refuses non-https authorities (and non-https token endpoints from discovery), so the sandbox
serves TLS. Clients trust it by being given ``ca.pem`` (msal ``verify=``, requests ``verify=``,
httplib2 ``ca_certs=``) instead of by any code path that knows about the sandbox.

The CA private key is never written to disk: nobody can mint further certificates with it. When
any file is missing, unreadable, mismatched or close to expiry, the whole set is regenerated and
clients simply read the new ``ca.pem`` on their next start.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

CA_FILENAME = "ca.pem"
CERT_FILENAME = "server.pem"
KEY_FILENAME = "server-key.pem"
GOOGLE_SERVICE_ACCOUNT_FILENAME = "google-service-account.json"
GOOGLE_SERVICE_ACCOUNT_EMAIL = "cadence-dwd@cadence-sandbox.iam.gserviceaccount.com"

SERVER_DNS_NAMES = ("localhost",)
SERVER_IP_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))

CA_LIFETIME = dt.timedelta(days=3650)
SERVER_LIFETIME = dt.timedelta(days=825)
# Regenerate a little before expiry so a long-running dev server never starts with a dying cert.
RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class CertificatePaths:
    ca: Path
    cert: Path
    key: Path


def certificate_paths(cert_dir: Path) -> CertificatePaths:
    return CertificatePaths(
        ca=cert_dir / CA_FILENAME,
        cert=cert_dir / CERT_FILENAME,
        key=cert_dir / KEY_FILENAME,
    )


def ensure_certificates(cert_dir: Path | str) -> CertificatePaths:
    """Return the CA and server certificate under ``cert_dir``, generating them when needed."""
    cert_dir = Path(cert_dir)
    paths = certificate_paths(cert_dir)
    if _existing_set_is_valid(paths):
        return paths
    cert_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key, ca_cert = _new_ca()
    server_key, server_cert = _new_server_certificate(ca_key, ca_cert)
    _write(paths.ca, ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write(
        paths.key,
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        mode=0o600,
    )
    _write(paths.cert, server_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    logger.info("sandbox.certs.generated", extra={"cert_dir": str(cert_dir)})
    return paths


def ensure_google_service_account(cert_dir: Path | str, *, base_url: str) -> Path:
    """Cadence's service-account key file for Google domain-wide delegation, in the format the
    Google Cloud console downloads. The key is made once (RSA 2048) and kept; the URL fields are
    rewritten on every start, since the sandbox's port may change (token_uri is what google-auth
    posts the JWT-bearer grant to)."""
    path = Path(cert_dir) / GOOGLE_SERVICE_ACCOUNT_FILENAME
    info = _existing_service_account(path)
    if info is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        info = {
            "type": "service_account",
            "project_id": "cadence-sandbox",
            "private_key_id": secrets.token_hex(20),
            "private_key": key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii"),
            "client_email": GOOGLE_SERVICE_ACCOUNT_EMAIL,
            # The numeric "unique id" a Workspace admin authorises for DWD.
            "client_id": str(10**20 + secrets.randbelow(9 * 10**20)),
        }
        logger.info("sandbox.google_service_account.generated", extra={"cert_dir": str(cert_dir)})
    google = f"{base_url}/google"
    info.update(
        auth_uri=f"{google}/o/oauth2/v2/auth",
        token_uri=f"{google}/token",
        auth_provider_x509_cert_url=f"{google}/oauth2/v3/certs",
        client_x509_cert_url=f"{google}/robot/v1/metadata/x509/{info['client_email'].replace('@', '%40')}",
        universe_domain="googleapis.com",
    )
    Path(cert_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    _write(path, (json.dumps(info, indent=2) + "\n").encode("utf-8"), mode=0o600)
    return path


def _existing_service_account(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        key = serialization.load_pem_private_key(info["private_key"].encode("ascii"), password=None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if info.get("type") != "service_account" or not isinstance(key, rsa.RSAPrivateKey):
        return None
    if not all(
        isinstance(info.get(k), str) and info[k] for k in ("private_key_id", "client_email", "client_id")
    ):
        return None
    return info


def _existing_set_is_valid(paths: CertificatePaths) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(paths.ca.read_bytes())
        cert = x509.load_pem_x509_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    renew_at = _now() + RENEW_BEFORE
    if ca.not_valid_after_utc < renew_at or cert.not_valid_after_utc < renew_at:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(SERVER_DNS_NAMES) <= set(san.get_values_for_type(x509.DNSName)) and set(
        SERVER_IP_ADDRESSES
    ) <= set(san.get_values_for_type(x509.IPAddress))


def _new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cadence provider sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Cadence provider sandbox local CA"),
        ]
    )
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _new_server_certificate(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    san = x509.SubjectAlternativeName(
        [x509.DNSName(name) for name in SERVER_DNS_NAMES]
        + [x509.IPAddress(address) for address in SERVER_IP_ADDRESSES]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + SERVER_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Write atomically with the final permissions from the start (a key is never world-readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # O_CREAT's mode is filtered by the umask and ignored for existing files
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
