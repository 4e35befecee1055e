"""Value checks for receipt actions, shared by the action classes and the app's settings.

Each raises ``ValueError`` naming ``prop`` and the bad value, and accepts unresolved tokens as they are.
"""

from __future__ import annotations

import re

from ..validation import check_domain, check_local_part, is_token

_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,49}$")
_SMTP_REPLY_CODE = re.compile(r"^5\d\d$")
_STATUS_CODE = re.compile(r"^5\.\d{1,3}\.\d{1,3}$")
_WORKMAIL_ORGANIZATION_ARN = re.compile(r"^arn:aws[a-z-]*:workmail:[a-z0-9-]+:\d{12}:organization/m-[0-9a-f]{32}$")
_BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ARN = re.compile(r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):\S+$")

#: SES's limit on an added header's value.
MAX_HEADER_VALUE_LENGTH = 2048
#: S3's limit on a key, and so on a prefix.
MAX_PREFIX_LENGTH = 1024
LAMBDA_INVOCATION_TYPES = ("Event", "RequestResponse")
SNS_ENCODINGS = ("UTF-8", "Base64")


def check_one_of(prop: str, value: str, options: tuple[str, ...]) -> None:
    """``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{prop}: {value!r} is not one of {', '.join(options)}")


def check_address(prop: str, value: str) -> None:
    """An e-mail address ``local@domain``."""
    if is_token(value):
        return
    local, at, domain = value.partition("@") if isinstance(value, str) else ("", "", "")
    if not at:
        raise ValueError(f"{prop}: {value!r} is not an e-mail address")
    check_local_part(prop, local)
    check_domain(prop, domain)


def check_object_key_prefix(prop: str, value: str) -> None:
    """An S3 key prefix: at most 1024 characters, not starting with ``/``."""
    if not is_token(value) and (len(value) > MAX_PREFIX_LENGTH or value.startswith("/")):
        raise ValueError(f"{prop}: {value!r} must be at most {MAX_PREFIX_LENGTH} characters and not start with '/'")


def check_bucket_name(prop: str, value: str) -> None:
    """An S3 bucket name: 3-63 lowercase letters, digits, ``.`` and ``-``; first and last a letter or digit."""
    if not is_token(value) and not (isinstance(value, str) and _BUCKET_NAME.match(value)):
        raise ValueError(f"{prop}: {value!r} is not an S3 bucket name")


def check_arn(prop: str, value: str, service: str) -> None:
    """An ARN of ``service`` (``lambda``, ``sns``, ``kms``, ...), with its account."""
    if is_token(value):
        return
    match = _ARN.match(value) if isinstance(value, str) else None
    if match is None or match["service"] != service:
        raise ValueError(f"{prop}: {value!r} is not an ARN of {service}")


def check_workmail_organization_arn(prop: str, value: str) -> None:
    """``arn:<partition>:workmail:<region>:<account>:organization/m-<32 hex>``."""
    if not is_token(value) and not (isinstance(value, str) and _WORKMAIL_ORGANIZATION_ARN.match(value)):
        raise ValueError(f"{prop}: {value!r} is not a WorkMail organization ARN")


def check_header_name(prop: str, value: str) -> None:
    """Letters, digits and ``-``, under 50 characters (SES's rule for the add-header action)."""
    if not is_token(value) and not (isinstance(value, str) and _HEADER_NAME.match(value)):
        raise ValueError(f"{prop}: {value!r} must be 1-49 letters, digits or '-'")


def check_header_value(prop: str, value: str) -> None:
    """At most 2048 characters, no line breaks (a header value cannot fold here)."""
    if is_token(value):
        return
    if not isinstance(value, str) or len(value) > MAX_HEADER_VALUE_LENGTH or "\r" in value or "\n" in value:
        raise ValueError(f"{prop}: {value!r} must be at most {MAX_HEADER_VALUE_LENGTH} characters, no line breaks")


def check_smtp_reply_code(prop: str, value: str) -> None:
    """A permanent-failure SMTP reply code, ``5xx``."""
    if not is_token(value) and not (isinstance(value, str) and _SMTP_REPLY_CODE.match(value)):
        raise ValueError(f"{prop}: {value!r} is not a 5xx SMTP reply code")


def check_status_code(prop: str, value: str) -> None:
    """An RFC 3463 enhanced status code of a permanent failure, ``5.x.y``."""
    if not is_token(value) and not (isinstance(value, str) and _STATUS_CODE.match(value)):
        raise ValueError(f"{prop}: {value!r} is not an enhanced status code 5.x.y")


def check_bounce_message(prop: str, value: str) -> None:
    """One non-empty line of text."""
    if not is_token(value) and (not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value):
        raise ValueError(f"{prop}: {value!r} must be one non-empty line")
