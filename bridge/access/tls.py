"""Server-side TLS for port listeners (issue 11), with the standard ``ssl`` module.

One ``ssl.SSLContext`` per bridge serves every port with ``tls = true``:
TLS 1.2 or newer, the certificate chain and key of ``tls_cert``/``tls_key``,
and with ``tls_client_ca`` a client certificate signed by one of its CAs is
required (``CERT_REQUIRED``). ``TlsContext.reload()`` reads the files again
into a new context (on SIGHUP): connections made afterwards use the new
certificate, established ones keep theirs.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

log = logging.getLogger("bridge.access")


class TlsError(ValueError):
    """A certificate, key or CA file that cannot be used; one line."""


def server_context(cert: str, key: str, client_ca: str | None = None) -> ssl.SSLContext:
    """A server context: TLS 1.2+, ``cert`` (PEM chain) and ``key``, clients
    verified against ``client_ca`` when given.

    Raises:
        TlsError: a file is missing, unreadable or not PEM, or key and cert do not match.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load(context, cert, key, client_ca)
    return context


def _load(context: ssl.SSLContext, cert: str, key: str, client_ca: str | None) -> None:
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"cannot load certificate {cert} with key {key}: {_reason(exc)}") from None
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (ssl.SSLError, OSError) as exc:
            raise TlsError(f"cannot load client CA {client_ca}: {_reason(exc)}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.verify_mode = ssl.CERT_NONE


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).lower().replace("_", " ")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


class TlsContext:
    """The bridge's TLS context, reloadable in place."""

    def __init__(self, cert: str, key: str, client_ca: str | None = None) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self.context = server_context(cert, key, client_ca)

    @property
    def verifies_clients(self) -> bool:
        """Whether clients must present a certificate."""
        return self.client_ca is not None

    def reload(self, cert: str, key: str, client_ca: str | None = None) -> None:
        """Read the files again into a new context, used by connections made from now on.

        Raises:
            TlsError: the new files cannot be used; the old context stays in use.
        """
        self.context = server_context(cert, key, client_ca)
        self.cert, self.key, self.client_ca = cert, key, client_ca


def peer_subject(peercert: Any) -> str | None:
    """A client certificate's subject as one string ("CN=alice,O=Lab"), or None.

    ``peercert`` is ``SSLObject.getpeercert()``'s dict (RFC 5280 subject RDNs).
    """
    if not isinstance(peercert, dict):
        return None
    names = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
             "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
             "emailAddress": "emailAddress"}
    parts: list[str] = []
    for rdn in peercert.get("subject", ()):
        for attr, value in rdn:
            parts.append(f"{names.get(attr, attr)}={value}")
    return ",".join(parts) or None


def peer_user(peercert: Any) -> str | None:
    """The name a session shows for a client certificate: its CN, else the whole subject."""
    if not isinstance(peercert, dict):
        return None
    for rdn in peercert.get("subject", ()):
        for attr, value in rdn:
            if attr == "commonName":
                return str(value)
    return peer_subject(peercert)
