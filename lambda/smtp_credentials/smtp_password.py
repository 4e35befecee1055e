"""SES SMTP password from an IAM secret access key: SES's documented version-4 (SigV4-based) derivation."""

from __future__ import annotations

import base64
import hashlib
import hmac

# Fixed inputs of the algorithm as SES documents it; the region is the only variable besides the key.
_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = b"\x04"


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SMTP password SES accepts in ``region`` for the access key whose secret is ``secret_access_key``."""
    if not secret_access_key or not region:
        raise ValueError("secret_access_key and region must be non-empty")
    signature = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (_DATE, region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = _sign(signature, part)
    return base64.b64encode(_VERSION + signature).decode("ascii")
