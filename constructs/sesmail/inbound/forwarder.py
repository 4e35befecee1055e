"""The mail forwarder Lambda: re-sends each stored message to staff addresses through SES."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_s3 as s3
from constructs import Construct

from .._provider import handler_function
from ..identities import IdentityLike, send_resources
from ..receiving.actions import LambdaAction
from ..validation import is_token, strings
from ._permissions import (
    acknowledge_notifications_handler,
    check_configuration_set_arn,
    common_path,
    grant_objects,
    grant_send_as,
    notify_object_created,
)
from .failures import InboundFailures
from .verdicts import DEFAULT_VERDICT_POLICY, VERDICT_ACTIONS, VERDICT_CHECKS

#: The forward record written beside each message (``<key>.forward.json``): the one object the role may write.
RECORD_SUFFIX = ".forward.json"
#: The hourly cap's counters (the handler's ``fwd_cap``): one object per UTC hour.
CAP_PREFIX = ".sesmail/forward-cap/"
#: With routes, one claim per (message id, destination) (the handler's ``fwd_across``): one send per destination
#: however many rules stored the message.
ONCE_PREFIX = ".sesmail/forward-once/"
TIMEOUT = cdk.Duration.minutes(2)


def check_verdict_policy(prop: str, policy: Mapping[str, str]) -> None:
    """Each key a check, each value an allowed action; a virus's content is never forwarded (notice or skip)."""
    for check, action in policy.items():
        if check not in VERDICT_CHECKS:
            raise ValueError(f"{prop}.{check}: unknown check (known: {', '.join(VERDICT_CHECKS)})")
        allowed = VERDICT_ACTIONS[2:] if check == "virus" else VERDICT_ACTIONS
        if action not in allowed:
            raise ValueError(f"{prop}.{check}: {action!r} is not one of {', '.join(allowed)}")


def _route_prefixes(routes: Mapping[str, Any]) -> set[str]:
    """Every prefix a routing table reads messages from (its addresses' and its domains' catch-all)."""
    found = {str(route["prefix"]) for route in routes.get("addresses", {}).values()}
    return found | {str(domain["prefix"]) for domain in routes.get("domains", {}).values()}


class MailForwarder(Construct):
    """Forwards every message stored in ``bucket`` to ``forward_to``, sent as the mailbox it reached.

    Two triggers: by default the bucket's ``ObjectCreated`` notification under ``prefix``; with ``key_prefixes``,
    a receipt rule instead (put :meth:`receipt_action` after the rule's S3 action), which leaves the bucket's one
    notification per prefix free for the parser. SES's verdicts decide per message (``verdict_policy``): by default
    a virus, spam or a DMARC failure under the sender's quarantine/reject policy reaches staff as a notice naming
    where the message is kept, never as the message. Each message gets one forward however often it is delivered:
    the function claims ``<key>.forward.json`` with an S3 conditional write before sending and records there what it
    did. The function's role (:attr:`role`) may send only as ``mailboxes`` on ``identity_arn`` (and its default
    configuration set), read only objects under the mail prefixes, write only those records, use the bucket's KMS
    key for them, and write its own log group; no managed policies. A failed forward raises an error naming the
    message; Lambda retries it twice (the claim makes retries safe) and then hands it to the function's failure
    destination, if one is configured.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        identity_arn: str | Sequence[str] | None = None,
        mailboxes: Sequence[str],
        forward_to: Sequence[str],
        prefix: str = "",
        key_prefixes: Mapping[str, str] | None = None,
        configuration_set_arn: str | None = None,
        verdict_policy: Mapping[str, str] | None = None,
        identity: IdentityLike | Sequence[IdentityLike] | None = None,
        routes: Mapping[str, Any] | None = None,
        send_as: Sequence[str] = (),
        reserved_concurrency: int | None = 2,
        forwards_per_hour: int | None = 100,
    ) -> None:
        """
        :param bucket: the mail bucket SES stores messages in.
        :param identity: the SES identity the forwards are sent through (a ``MailDomain`` or any
            ``ses.IEmailIdentity`` of the app), or a list of them when the mailboxes belong to several domains. A
            ``MailDomain``'s default configuration set is added to the grant (SES authorizes the send on it too).
            Give this or ``identity_arn``.
        :param identity_arn: for an identity outside the app: ARN of the SES identity the forwards are sent through,
            or a list of them when the
            mailboxes belong to several domains. One statement covers them all: ``ses:FromAddress`` still limits it
            to ``mailboxes``, and SES sends an address only through its own domain's identity.
        :param mailboxes: the receiving addresses; a forward is sent as the first one the message was addressed to.
        :param forward_to: staff addresses that receive the forwards; at least one.
        :param prefix: key prefix SES writes under. Default ``""``: every new object (parser outputs are skipped).
        :param key_prefixes: default ``None``, the bucket notification triggers forwarding. A mapping from each
            receiving address to the S3 prefix its rule stores under switches to the receipt-rule trigger: no
            notification, the object is read at ``<prefix of the matched recipient><message id>``.
        :param configuration_set_arn: default ``None``, the send grant covers the identity only. Give the ARN of the
            identity's default configuration set, if it has one: SES v2 authorizes the send on that set too, and
            without it every forward fails with AccessDenied.
        :param verdict_policy: default ``None``, :data:`DEFAULT_VERDICT_POLICY`. Maps checks (``virus``, ``spam``,
            ``dmarc``: a DMARC failure whose sender policy is quarantine or reject, or any DMARC failure of mail from
            ``mailboxes``' own domain; ``spf``, ``dkim``) to what a failing message gets: ``forward``, ``tag``
            (forwarded with ``[SPAM]``... before the subject), ``notice`` (a notice with where it is stored) or
            ``skip`` (nothing sent; recorded). ``virus`` allows only ``notice`` and ``skip``. The strictest
            triggered action wins.
        :param routes: default ``None``, every message goes to ``forward_to``. An address book's routing table
            (``{"version": 1, "addresses": {address: {"as", "to", "prefix"}}, "domains": {domain: {"prefix",
            "otherRecipients", "notify", "as"}}}``): for the receipt-rule trigger, each recipient SES matched is
            looked up (aliases route as their entry) and each destination gets one forward per message, sent as the
            first matched address routing to it; recipients it does not name get a notice to the domain's
            ``notify`` with ``otherRecipients`` ``store``. It ships as ``routes.json`` in the function's code, so
            neither the environment nor the role's policy grows with the number of addresses. A message stored by
            several rules (two domains, a book past 100 addresses) reaches each destination once: the copies claim
            each (message id, destination) under ``.sesmail/forward-once/`` (the handler's ``fwd_across``).
        :param send_as: default ``()``, the forwards are sent only as ``mailboxes``. More addresses the routes send
            as, or ``*@<domain>`` for every address of a domain (one policy line however many addresses it has).
        :param reserved_concurrency: default ``2``: at most two forwards run at once, and they always can, however
            busy the account's other functions are. Lambda keeps throttled asynchronous events and retries them for
            up to 6 hours. AWS lets a function reserve at most the account's unreserved concurrency "minus 100 for
            functions that don't have reserved concurrency" (Lambda Developer Guide, "Configuring reserved
            concurrency"): an account still at a low concurrency quota must raise it, or pass ``None`` (no
            reservation; the deploy would otherwise fail and roll back).
        :param forwards_per_hour: default ``100``: at most this many sends (forwards and notices) an hour; over it
            messages stay stored, recorded ``deferred``, and one notice an hour says so (the handler's
            ``fwd_cap``). ``None``: no cap. Forwards share the account's SES sending quota with all its other mail.
        """
        mailboxes, forward_to = strings("mailboxes", mailboxes), strings("forward_to", forward_to)
        send_as = strings("send_as", send_as)
        for prop, values in (("mailboxes", mailboxes), ("forward_to", forward_to)):
            if not values and routes is None:
                raise ValueError(f"{prop} must name at least one address, got {values!r}")
            for value in values:
                if not is_token(value) and value.count("@") != 1:
                    raise ValueError(f"{prop}: {value!r} is not an e-mail address")
        for value in send_as:
            if not is_token(value) and (value.count("@") != 1 or "*" in value.rpartition("@")[2]):
                raise ValueError(f"send_as: {value!r} is not an e-mail address or *@<domain>")
        if key_prefixes is not None and not key_prefixes and routes is None:
            raise ValueError(f"key_prefixes: {dict(key_prefixes)!r} must map at least one address to its prefix")
        check_configuration_set_arn("configuration_set_arn", configuration_set_arn)
        send = send_resources(
            scope, identity=identity, identity_arn=identity_arn, configuration_set_arn=configuration_set_arn
        )
        check_verdict_policy("verdict_policy", verdict_policy or {})
        for prop, number in (("reserved_concurrency", reserved_concurrency), ("forwards_per_hour", forwards_per_hour)):
            if number is not None and not is_token(number) and (isinstance(number, bool) or number < 1):
                raise ValueError(f"{prop}: {number!r} must be a whole number of at least 1, or None")
        super().__init__(scope, construct_id)
        self.verdict_policy = {**DEFAULT_VERDICT_POLICY, **(verdict_policy or {})}
        environment = {
            "FORWARD_TO": ",".join(forward_to),
            "MAILBOXES": ",".join(mailboxes),
            "VERDICT_POLICY": json.dumps(self.verdict_policy, sort_keys=True),
            # A claim older than the timeout has no live owner (the handler's fwd_once).
            "CLAIM_STALE_SECONDS": str(int(TIMEOUT.to_seconds()) + 30),
        }
        if forwards_per_hour is not None:
            environment["FORWARD_CAP_PER_HOUR"] = str(forwards_per_hour)
        if key_prefixes is not None or routes is not None:
            environment |= {"MAIL_BUCKET": bucket.bucket_name, "KEY_PREFIXES": json.dumps(dict(key_prefixes or {}))}
        self.function, self.role = handler_function(
            self,
            "Resource",
            handler="mail_forwarder",
            role_description="sesmail: forwards inbound mail to staff",
            memory_size=1024,
            timeout=TIMEOUT,
            # Safe to retry: the forward record turns a repeated delivery into a no-op.
            retry_attempts=2,
            reserved_concurrent_executions=reserved_concurrency,
            # What still fails after the retries is kept, with the S3 key in the record's request payload.
            on_failure=InboundFailures.of(self).destination,
            environment=environment,
            description="sesmail: forward inbound mail to staff",
            extra_files={"routes.json": json.dumps(routes, sort_keys=True, indent=1)} if routes is not None else None,
        )
        InboundFailures.of(self).watch(self, self.function, "mail forwarder")
        # One pattern for every mailbox prefix, so the role's policy does not grow with the mailboxes.
        route_prefixes = _route_prefixes(routes) if routes is not None else set()
        if key_prefixes is not None or routes is not None:
            read_prefix = common_path(sorted({*(key_prefixes or {}).values(), *route_prefixes}))
        else:
            read_prefix = prefix
        reason = (
            "SES stores each message under its mailbox's prefix with the message id as the key, known only when "
            "mail arrives; the forwarder reads each one and writes its forward record beside it."
        )
        grant_objects(
            self.role,
            bucket,
            actions=["s3:GetObject"],
            key_patterns=[f"{read_prefix}*"],
            reason=reason,
        )
        # PutObject with If-None-Match needs s3:PutObject, with If-Match also s3:GetObject (S3 conditional writes).
        grant_objects(
            self.role,
            bucket,
            actions=["s3:PutObject"],
            key_patterns=[f"{read_prefix}*{RECORD_SUFFIX}"],
            reason=reason,
        )
        if forwards_per_hour is not None:
            # The hour's counter: read, then written with If-None-Match / If-Match (fwd_cap).
            grant_objects(
                self.role,
                bucket,
                actions=["s3:GetObject", "s3:PutObject"],
                key_patterns=[f"{CAP_PREFIX}*"],
                reason="One counter object per UTC hour, named by the hour when the first forward of it is counted.",
            )
        if routes is not None:
            # A claim per destination: written with If-None-Match, read when another copy holds it (fwd_across).
            grant_objects(
                self.role,
                bucket,
                actions=["s3:GetObject", "s3:PutObject"],
                key_patterns=[f"{ONCE_PREFIX}*"],
                reason="One claim object per (message id, destination), named by their hash when the message arrives.",
            )
        if bucket.encryption_key is not None:
            # Decrypt to read messages and records; GenerateDataKey for S3 to encrypt the records it writes.
            bucket.encryption_key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")
        grant_send_as(self.role, send.all, mailboxes, send_as)
        if key_prefixes is None and routes is None:
            notify_object_created(self, bucket, self.function, prefix)
            acknowledge_notifications_handler(self)

    def receipt_action(self) -> LambdaAction:
        """The Lambda action that forwards a rule's messages; place it after the rule's S3 action."""
        return LambdaAction(function=self.function, invocation_type="Event")
