"""Parse each stored inbound message into ``<OUTPUT_PREFIX><key>.json``, attachments under
``<OUTPUT_PREFIX><key>.attachments/`` (the construct sets ``OUTPUT_PREFIX``, ``parsed/`` by default; unset, beside it).

Trigger: the mail bucket's S3 ``ObjectCreated`` notification (decoupled from the receipt rule, so a parser failure
never bounces mail; re-parsing is a re-upload or a manual invoke). An SES Lambda action event (``Records[].ses``) is
accepted too: it names no bucket or key, so the message is read from ``BUCKET_NAME`` at ``OBJECT_PREFIX`` + the SES
message id (the construct sets both); its receipt verdicts then override those read from the stored headers. Objects
it writes are skipped.
Failures: parse problems go into the document's ``errors``, limits hit into ``truncated``; anything unexpected still
writes a document with ``"status": "unparsed"`` and returns normally, so an async invoke is never retried into a
storm; the raw message stays. Only when even that record cannot be written does the invocation fail (after every
message of the event was tried), so Lambda's error metric and failure destination see it.
Virus-flagged messages are recorded, but their attachments are not extracted.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import traceback
import urllib.parse
from typing import Any

import boto3
from mime import SCHEMA_VERSION, measured, parse
from mime_text import json_safe


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class PrintableLogs(logging.Filter):
    """Escape lone surrogates (undecodable header bytes kept by ``surrogateescape``) in a log line and its traceback.

    A UTF-8 stream with ``errors="strict"`` cannot write them: the logging module then prints "--- Logging error ---"
    instead of the line, and the one record of why a message was not parsed is lost.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _escaped(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = _escaped("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return True


LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
LOG.addFilter(PrintableLogs())

# "Initialize SDK clients and database connections outside of the function handler" (AWS Lambda, Best practices for
# working with AWS Lambda functions): made on the first message, reused by every later invocation of the environment.
_S3: Any = None


def _s3() -> Any:
    global _S3
    if _S3 is None:
        _S3 = boto3.client("s3")
    return _S3


JSON_SUFFIX = ".json"
ATTACHMENTS_SUFFIX = ".attachments/"
MAX_BYTES = int(os.environ.get("MAX_MESSAGE_BYTES", str(50 * 1024 * 1024)))
READ_CHUNK = 1024 * 1024


def output_key(key: str, suffix: str) -> str:
    """Where the output ``suffix`` (``.json``, ``.attachments/<name>``) of the message ``key`` is written."""
    return os.environ.get("OUTPUT_PREFIX", "") + key + suffix


def is_derived(key: str) -> bool:
    """Whether ``key`` is an output (the parser's, or a ``.json`` record beside a message) rather than a message."""
    output_prefix = os.environ.get("OUTPUT_PREFIX", "")
    if output_prefix and key.startswith(output_prefix):
        return True
    return key.endswith(JSON_SUFFIX) or ATTACHMENTS_SUFFIX in key


def _targets(event: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    targets: list[tuple[str, str, dict[str, Any] | None]] = []
    for record in event.get("Records", []):
        if "s3" in record:
            key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
            targets.append((record["s3"]["bucket"]["name"], key, None))
        elif "ses" in record:
            # The Lambda action's event carries the receipt and headers, not the object: SES stored it under the S3
            # action's object key prefix + message id, in the bucket the construct passes in.
            bucket = os.environ.get("BUCKET_NAME", "")
            key = os.environ.get("OBJECT_PREFIX", "") + record["ses"]["mail"]["messageId"]
            targets.append((bucket, key, record["ses"]))
    return targets


def read_body(body: Any, size: int) -> bytearray:
    """The whole S3 object body in one buffer of exactly ``size`` bytes.

    ``read()`` would join the stream's chunks into a second copy; reading into a preallocated buffer in 1 MiB steps
    (urllib3 allocates a temporary of the requested size) keeps the peak at the message size plus one chunk.
    """
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    while filled < size:
        count = body.readinto(view[filled : filled + READ_CHUNK])
        if not count:
            raise ValueError(f"object ended after {filled} of {size} bytes")
        filled += count
    view.release()
    return buffer


def ses_verdicts(ses: dict[str, Any]) -> dict[str, Any]:
    """The receipt's verdicts from an SES Lambda action event, in the document's ``verdicts`` shape."""
    receipt = ses["receipt"]
    return {name: receipt.get(f"{name}Verdict", {}).get("status") for name in ("spam", "virus", "spf", "dkim", "dmarc")}


def process(s3: Any, bucket: str, key: str, ses: dict[str, Any] | None) -> dict[str, Any]:
    """Parse one stored message and write its document and attachments; raises only if the document cannot be
    written at all (then there is nothing left to record the failure in)."""
    base: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION, "bucket": bucket, "key": key}
    try:
        if ses is not None:
            base["envelope"] = {
                "mailFrom": ses["mail"].get("source"),
                "recipients": ses["receipt"].get("recipients", []),
            }
        document = _parsed(s3, bucket, key, ses, base)
        body = json.dumps(json_safe(document), ensure_ascii=False).encode()
    except Exception as error:  # never lose the message, never fail the invoke: record what went wrong
        LOG.exception("could not parse s3://%s/%s", bucket, key)
        document = {**base, "status": "unparsed", "errors": [f"{type(error).__name__}: {error}"], "truncated": []}
        # ASCII escapes: this record is written whatever the error text holds.
        body = json.dumps(json_safe(document), ensure_ascii=True).encode()
    written = output_key(key, JSON_SUFFIX)
    s3.put_object(Bucket=bucket, Key=written, Body=body, ContentType="application/json")
    return {"key": written, "status": document["status"], "errors": len(document.get("errors", []))}


def _parsed(s3: Any, bucket: str, key: str, ses: dict[str, Any] | None, base: dict[str, Any]) -> dict[str, Any]:
    """The message's document, its attachments written; oversize messages are recorded, not read."""
    response = s3.get_object(Bucket=bucket, Key=key)
    size = response["ContentLength"]
    if size > MAX_BYTES:
        response["Body"].close()  # not read: an oversize message costs no memory
        return {
            **base,
            "status": "unparsed",
            "errors": [f"message of {size} bytes exceeds MAX_MESSAGE_BYTES={MAX_BYTES}"],
            "truncated": [],
        }
    # The parser keeps offsets into this one buffer; attachments are decoded from it one at a time below.
    parsed = parse(read_body(response["Body"], size))
    document = {**base, "status": "parsed", **parsed.document}
    if ses is not None:
        document["verdicts"] = ses_verdicts(ses)
    infected = (document["verdicts"].get("virus") or "").upper() == "FAIL"
    for attachment, described in zip(parsed.attachments, document["attachments"], strict=True):
        payload = measured(attachment, described)
        if infected:
            described["skipped"] = "virus verdict FAIL"
            continue
        described["key"] = output_key(key, f"{ATTACHMENTS_SUFFIX}{attachment.safe_name}")
        # The sha256 just computed doubles as S3's integrity check, so botocore need not hash it again.
        s3.put_object(
            Bucket=bucket,
            Key=described["key"],
            Body=payload,
            ContentType="application/octet-stream",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(described["sha256"])).decode(),
        )
        del payload
    return document


def handler(event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    """Lambda entry point: an S3 notification or SES action event; one result per message parsed."""
    s3 = _s3()
    results: list[dict[str, Any]] = []
    lost: list[str] = []
    for bucket, key, ses in _targets(event):
        if is_derived(key):
            continue
        try:
            results.append(process(s3, bucket, key, ses))
        except Exception:  # the record itself could not be written: try the others, then fail the invocation
            LOG.exception("could not write s3://%s/%s", bucket, output_key(key, JSON_SUFFIX))
            lost.append(f"s3://{bucket}/{key}")
    LOG.info("%s", json.dumps(results))
    if lost:
        raise RuntimeError(f"no document written for {', '.join(lost)}")
    return {"results": results}
