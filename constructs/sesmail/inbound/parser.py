"""The inbound parser Lambda, triggered by the mail bucket's ObjectCreated notifications."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
from constructs import Construct

from .._provider import handler_function
from ..receiving.checks import check_object_key_prefix
from ..validation import is_token, strings
from ._permissions import acknowledge_notifications_handler, common_path, grant_objects, notify_object_created
from .failures import MAX_EVENT_AGE, RETRY_ATTEMPTS, InboundFailures

#: The handler's outputs for each message ``<key>``, under ``output_prefix``: its document and its attachments.
OUTPUT_SUFFIXES = (".json", ".attachments/*")
#: Where the outputs go by default: outside every mail prefix, so that writing them notifies nobody.
DEFAULT_OUTPUT_PREFIX = "parsed/"


def notification_prefixes(prop: str, prefixes: Sequence[str]) -> list[str]:
    """The fewest prefixes covering ``prefixes`` with no two overlapping (``a/`` covers ``a/b/``), sorted.

    S3 refuses a bucket's notification configuration when two of its filters for the same event type overlap:
    "Overlapping prefixes and suffixes are not supported" (FilterRule, S3 API reference,
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_FilterRule.html), and a filter holds one prefix rule ("The
    same type of filter rule cannot be used more than once", AWS::S3::Bucket S3KeyFilter,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-s3keyfilter.html);
    so one notification per prefix, none inside another.
    """
    for value in prefixes:
        if is_token(value):
            raise ValueError(f"{prop}: {value!r} must be known at synth (S3 filters are compared for overlaps)")
        check_object_key_prefix(prop, value)
    unique = sorted(set(prefixes))
    return [p for p in unique if not any(p != q and p.startswith(q) for q in unique)]


class InboundParser(Construct):
    """Parses every message stored under the mail prefixes of ``bucket`` into ``<output_prefix><key>.json`` and
    ``<output_prefix><key>.attachments/``.

    The bucket notifies the function of objects created under each of ``mail_prefixes`` (one S3 notification per
    prefix), and the outputs are written under ``output_prefix``, outside all of them: the parser reacts only to
    stored mail, never to its own output. (With a mail prefix of ``""`` the notification covers the whole bucket; the
    handler then skips its own outputs, which still invoke it.) It also accepts an SES receipt rule's Lambda action
    placed after the rule's S3 action that stores into ``bucket`` under ``prefix`` (the environment tells the handler
    where that message is).

    The function is invoked asynchronously by S3. The handler records a message's parse problems in its JSON document
    instead of raising; it raises only when it cannot write even that record (S3 or KMS throttled or failing), which
    is transient, so Lambda retries it twice within six hours (the writes are idempotent), then keeps the invocation
    record, with the S3 event and so the message's key, in the stack's failure queue (:class:`InboundFailures`).
    Its role (:attr:`role`) may read objects under the mail prefixes, write only ``*.json`` and ``*.attachments/*``
    objects under ``output_prefix``, use the bucket's KMS key for exactly that, and write its own log group; no
    managed policies.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str = "",
        mail_prefixes: Sequence[str] | None = None,
        output_prefix: str = DEFAULT_OUTPUT_PREFIX,
        memory_size: int = 1024,
        max_message_bytes: int = 50 * 1024 * 1024,
    ) -> None:
        """
        :param bucket: the mail bucket SES stores messages in (its KMS key, if any, is granted too).
        :param prefix: key prefix SES writes under, and where an SES Lambda action's message is read. Default
            ``""``: the whole bucket.
        :param mail_prefixes: default ``None``, ``[prefix]``. Every prefix SES stores mail under (one per mailbox
            rule, ``<mailbox>/`` or ``<domain>/<mailbox>/``): one notification each; a prefix inside another is
            covered by it.
        :param output_prefix: default ``parsed/``: the document of ``<key>`` is ``parsed/<key>.json``. Must not
            overlap a mail prefix (``""`` puts the outputs beside each message, as before, and the notification then
            fires for them too).
        :param memory_size: Lambda memory in MiB. Default 1024: the parser peaks at about 1.6x the message size
            (benchmarks/parse.py), so a 50 MiB message fits with room for the runtime; more memory also buys CPU.
        :param max_message_bytes: larger messages get an ``unparsed`` record instead of a parse. Default 50 MiB.
        """
        if not 128 <= memory_size <= 10240:
            raise ValueError(f"memory_size: {memory_size!r} must be 128..10240 MiB")
        if max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes: {max_message_bytes!r} must be positive")
        given = [prefix] if mail_prefixes is None else strings("mail_prefixes", mail_prefixes)
        watched = notification_prefixes("mail_prefixes", given)
        if not watched:
            raise ValueError(f"mail_prefixes: {list(mail_prefixes or [])!r} must name at least one prefix")
        check_object_key_prefix("output_prefix", output_prefix)
        for mail_prefix in watched:
            # Mail stored under the output prefix would be skipped as output; outputs under a mail prefix would
            # notify the parser of its own writes.
            if (
                output_prefix
                and mail_prefix
                and (mail_prefix.startswith(output_prefix) or output_prefix.startswith(mail_prefix))
            ):
                raise ValueError(
                    f"output_prefix: {output_prefix!r} overlaps the mail prefix {mail_prefix!r}; choose another"
                )
        super().__init__(scope, construct_id)
        self.function, self.role = handler_function(
            self,
            "Resource",
            handler="inbound_parser",
            role_description="sesmail: parses stored inbound mail into JSON",
            memory_size=memory_size,
            timeout=cdk.Duration.minutes(5),
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
            on_failure=InboundFailures.of(self).destination,
            # BUCKET_NAME and OBJECT_PREFIX: where an SES Lambda action's message is (its event names no object).
            environment={
                "MAX_MESSAGE_BYTES": str(max_message_bytes),
                "BUCKET_NAME": bucket.bucket_name,
                "OBJECT_PREFIX": prefix,
                "OUTPUT_PREFIX": output_prefix,
            },
            description="sesmail: parse inbound mail into JSON",
        )
        InboundFailures.of(self).watch(self, self.function, "inbound parser")
        reason = (
            "Messages are stored under the mail prefixes by SES with their message id as the key, known only when mail "
            "arrives; the parser reads each one and writes its .json and .attachments/ under the output prefix."
        )
        # The handler calls only GetObject and PutObject (single part): no List, no multipart, no versions.
        # One pattern however many mail prefixes there are (200 mailboxes would otherwise outgrow the role's
        # 10,240-character inline policy limit): their common leading path, "" when they share none.
        common = common_path(watched)
        grant_objects(self.role, bucket, actions=["s3:GetObject"], key_patterns=[f"{common}*"], reason=reason)
        grant_objects(
            self.role,
            bucket,
            actions=["s3:PutObject"],
            key_patterns=[f"{output_prefix}{common}*{suffix}" for suffix in OUTPUT_SUFFIXES],
            reason=reason,
        )
        if bucket.encryption_key is not None:
            # SSE-KMS: S3 decrypts reads with the caller's kms:Decrypt and encrypts writes with its GenerateDataKey.
            bucket.encryption_key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        #: the prefixes the bucket notifies the parser of (``[""]``: the whole bucket).
        self.mail_prefixes = watched
        for mail_prefix in watched:
            notify_object_created(self, bucket, self.function, mail_prefix)
        acknowledge_notifications_handler(self)
