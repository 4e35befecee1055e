"""The inbound parser Lambda, triggered by the mail bucket's ObjectCreated notifications."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_lambda as lambda_
import aws_cdk.aws_s3 as s3
import aws_cdk.aws_s3_notifications as s3n
from constructs import Construct

from .._assets import handler_code
from .._provider import lambda_role
from ._permissions import acknowledge_notifications_handler, grant_objects
from .failures import MAX_EVENT_AGE, RETRY_ATTEMPTS, InboundFailures

#: The handler's outputs beside each message ``<key>``: its document and its attachments.
OUTPUT_SUFFIXES = (".json", ".attachments/*")


class InboundParser(Construct):
    """Parses every message stored under ``prefix`` in ``bucket`` into ``<key>.json`` and ``<key>.attachments/``.

    It also accepts an SES receipt rule's Lambda action placed after the rule's S3 action that stores into ``bucket``
    under ``prefix`` (the environment tells the handler where that message is).

    The function is invoked asynchronously by S3. The handler records a message's parse problems in its JSON document
    instead of raising; it raises only when it cannot write even that record (S3 or KMS throttled or failing), which
    is transient, so Lambda retries it twice within six hours (the writes are idempotent), then keeps the invocation
    record, with the S3 event and so the message's key, in the stack's failure queue (:class:`InboundFailures`).
    Its role (:attr:`role`) may read objects under
    ``prefix``, write only ``*.json`` and ``*.attachments/*`` objects there, use the bucket's KMS key for exactly
    that, and write its own log group; no managed policies.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        prefix: str = "",
        memory_size: int = 1024,
        max_message_bytes: int = 50 * 1024 * 1024,
    ) -> None:
        """
        :param bucket: the mail bucket SES stores messages in (its KMS key, if any, is granted too).
        :param prefix: key prefix SES writes under. Default ``""``: every new object (own outputs are skipped).
        :param memory_size: Lambda memory in MiB. Default 1024: the parser peaks at about 1.6x the message size
            (benchmarks/parse.py), so a 50 MiB message fits with room for the runtime; more memory also buys CPU.
        :param max_message_bytes: larger messages get an ``unparsed`` record instead of a parse. Default 50 MiB.
        """
        if not 128 <= memory_size <= 10240:
            raise ValueError(f"memory_size: {memory_size!r} must be 128..10240 MiB")
        if max_message_bytes <= 0:
            raise ValueError(f"max_message_bytes: {max_message_bytes!r} must be positive")
        super().__init__(scope, construct_id)
        self.role, log_group = lambda_role(self, description="sesmail: parses stored inbound mail into JSON")
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=handler_code("inbound_parser"),
            role=self.role,
            memory_size=memory_size,
            timeout=cdk.Duration.minutes(5),
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
            on_failure=InboundFailures.of(self).destination,
            log_group=log_group,
            # BUCKET_NAME and OBJECT_PREFIX: where an SES Lambda action's message is (its event names no object).
            environment={
                "MAX_MESSAGE_BYTES": str(max_message_bytes),
                "BUCKET_NAME": bucket.bucket_name,
                "OBJECT_PREFIX": prefix,
            },
            description="sesmail: parse inbound mail into JSON",
        )
        InboundFailures.of(self).watch(self, self.function, "inbound parser")
        reason = (
            "Messages are stored under the prefix by SES with their message id as the key, known only when mail "
            "arrives; the parser reads each one and writes its .json and .attachments/ beside it."
        )
        # The handler calls only GetObject and PutObject (single part): no List, no multipart, no versions.
        grant_objects(self.role, bucket, actions=["s3:GetObject"], key_patterns=[f"{prefix}*"], reason=reason)
        grant_objects(
            self.role,
            bucket,
            actions=["s3:PutObject"],
            key_patterns=[f"{prefix}*{suffix}" for suffix in OUTPUT_SUFFIXES],
            reason=reason,
        )
        if bucket.encryption_key is not None:
            # SSE-KMS: S3 decrypts reads with the caller's kms:Decrypt and encrypts writes with its GenerateDataKey.
            bucket.encryption_key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        # S3 rejects an empty key filter: without a prefix the notification covers the whole bucket.
        filters = [s3.NotificationKeyFilter(prefix=prefix)] if prefix else []
        bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.LambdaDestination(self.function), *filters)
        acknowledge_notifications_handler(self)
