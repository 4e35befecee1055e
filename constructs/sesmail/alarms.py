"""One alarm topic per stack that every sesmail alarm reports to, and SES's account reputation alarms.

AWS pages this module rests on:

- SES reputation alarms: "Amazon SES automatically publishes two reputation-related metrics to Amazon CloudWatch:
  Reputation.BounceRate and Reputation.ComplaintRate", whose values "are decimal numbers between 0 and 1"
  (https://docs.aws.amazon.com/ses/latest/dg/reputationdashboard-cloudwatch-alarm.html). SES places an account under
  review at a bounce rate of 5% and a complaint rate of 0.1% (Reputation metrics messages,
  https://docs.aws.amazon.com/ses/latest/dg/reputationdashboardmessages.html).
- An encrypted alarm topic: CloudWatch cannot use the AWS managed key ``alias/aws/sns``; a customer managed key's
  policy must allow ``cloudwatch.amazonaws.com`` ``kms:Decrypt`` and ``kms:GenerateDataKey*``
  (https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns;
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services), and the topic's
  policy must allow it ``sns:Publish``, scoped to the alarms with ``aws:SourceArn``
  (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import aws_cdk.aws_cloudwatch as cloudwatch
import aws_cdk.aws_cloudwatch_actions as cw_actions
import aws_cdk.aws_iam as iam
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sns as sns
from constructs import Construct

from .receiving.checks import check_address
from .validation import is_token, strings

#: SES places the account under review at these rates (Reputation metrics messages, SES Developer Guide).
BOUNCE_RATE_REVIEW = 0.05
COMPLAINT_RATE_REVIEW = 0.001
#: CloudWatch alarm names are at most 255 characters (PutMetricAlarm, CloudWatch API reference).
MAX_ALARM_NAME = 255


class MailAlarms(Construct):
    """The topic sesmail's alarms report to, with e-mail subscribers, and SES's reputation alarms.

    Without ``topic``, creates an SNS topic encrypted with its own customer managed KMS key (rotated yearly), that
    accepts only TLS requests and lets CloudWatch publish (and use the key) only for this stack's alarms: every alarm
    given to :meth:`watch` is named ``<alarm_name_prefix><its path>``, and the grants are conditioned on
    ``aws:SourceAccount`` and ``aws:SourceArn`` = ``arn:...:cloudwatch:<region>:<account>:alarm:<prefix>*``.
    Every watched alarm notifies the topic when it goes into ALARM and when it returns to OK.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic | None = None,
        emails: Sequence[str] = (),
        reputation_alarms: bool = True,
        alarm_name_prefix: str | None = None,
    ) -> None:
        """
        :param topic: default ``None``, a new encrypted topic. Your own topic receives the alarms instead; sesmail
            adds CloudWatch's publish statement to its policy when the topic is defined in this app, and you grant
            CloudWatch its KMS key (if any) yourself: an imported topic's policies cannot be changed from here.
        :param emails: default none, nobody is subscribed. Each address gets an SNS e-mail subscription, which
            starts sending once its owner follows the link in SNS's confirmation message.
        :param reputation_alarms: default ``True``, alarms on the account's ``Reputation.BounceRate`` >= 5% and
            ``Reputation.ComplaintRate`` >= 0.1% (where SES places an account under review). ``False`` when another
            stack in the same account and region already has them: the metrics are per account and region.
        :param alarm_name_prefix: default ``<stack name>.``. The name every watched alarm gets and the
            ``aws:SourceArn`` pattern CloudWatch is allowed to publish for.
        """
        emails = strings("emails", emails)
        for i, address in enumerate(emails):
            check_address(f"emails[{i}]", address)
        if (
            alarm_name_prefix is not None
            and not is_token(alarm_name_prefix)
            and (not alarm_name_prefix or len(alarm_name_prefix) > 128 or "*" in alarm_name_prefix)
        ):
            raise ValueError(f"alarm_name_prefix: {alarm_name_prefix!r} must be 1..128 characters without '*'")
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.alarm_name_prefix = alarm_name_prefix if alarm_name_prefix is not None else f"{stack.stack_name}."
        self._watched: list[cloudwatch.Alarm] = []
        source_arn = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"{self.alarm_name_prefix}*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        # Confused-deputy protection for the CloudWatch service principal: only alarms of this account, named as
        # this construct names them.
        conditions = {"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": source_arn}}
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        #: the customer managed key of the topic sesmail created, or ``None`` with your own ``topic``.
        self.key: kms.Key | None = None
        if topic is None:
            self.key = kms.Key(
                self,
                "Key",
                description="sesmail: encrypts the alarm topic",
                enable_key_rotation=True,
                # It encrypts only notifications in flight, nothing stored: it goes with the stack.
                removal_policy=cdk.RemovalPolicy.DESTROY,
                pending_window=cdk.Duration.days(7),
            )
            # CloudWatch alarms publishing to an SSE topic need these two on the key, and the AWS managed SNS key
            # cannot grant them (SNS Developer Guide, "Enable compatibility between event sources from AWS services and
            # encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
            # #compatibility-with-aws-services). Scoped like the topic policy, to this stack's alarms: the keys are in
            # the context when "the call to your resource is made directly by an AWS service principal" (IAM User
            # Guide, AWS global condition context keys), the grant's principal here; no AWS page says CloudWatch's
            # calls lack them (the SNS page's exception is EventBridge), and AWS's Modern Data Architecture
            # Accelerator scopes this same CloudWatch grant with both keys.
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchAlarmsToUseTheKey",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions=conditions,
                )
            )
            topic = sns.Topic(self, "Topic", display_name="sesmail alarms", master_key=self.key, enforce_ssl=True)
        self.topic: sns.ITopic = topic
        # The topic policy statement CloudWatch needs to publish an alarm's notification
        # (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger), scoped to our alarms.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=conditions,
            )
        )
        for i, address in enumerate(emails):
            sns.Subscription(
                self, f"Email{i}", topic=self.topic, protocol=sns.SubscriptionProtocol.EMAIL, endpoint=address
            )
        #: the reputation alarms (bounce rate, complaint rate), empty when ``reputation_alarms`` is ``False``.
        self.reputation_alarms: list[cloudwatch.Alarm] = []
        if reputation_alarms:
            self.reputation_alarms = [
                self._reputation_alarm("BounceRateAlarm", "Reputation.BounceRate", BOUNCE_RATE_REVIEW, "bounce"),
                self._reputation_alarm(
                    "ComplaintRateAlarm", "Reputation.ComplaintRate", COMPLAINT_RATE_REVIEW, "complaint"
                ),
            ]
            self.watch(*self.reputation_alarms)

    def _reputation_alarm(self, construct_id: str, metric_name: str, threshold: float, what: str) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            # Account-wide (no dimension): the rate SES reviews the account on.
            metric=cloudwatch.Metric(
                namespace="AWS/SES",
                metric_name=metric_name,
                statistic=cloudwatch.Stats.MAXIMUM,
                period=cdk.Duration.hours(1),
            ),
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means either that the account never had a bounce or complaint (SES: the metrics "might not
            # appear in CloudWatch if your account hasn't had any"), so no alarm, or a gap in publishing, during
            # which the rate SES reviews has not changed: keep the last state rather than report OK.
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_description=f"sesmail: the account's {what} rate reached {threshold:.1%}, where SES places an "
            "account under review (SES console: Reputation metrics)",
        )

    def watch(self, *alarms: cloudwatch.Alarm) -> None:
        """Send ``alarms``' ALARM and OK transitions to the topic, naming each ``<prefix><path in the stack>``.

        An alarm that already has a name must start with the prefix, or CloudWatch would not be allowed to publish.
        """
        stack = cdk.Stack.of(self)
        stack_path: str | None = None  # read once per call, where an alarm needs a name
        action: cw_actions.SnsAction | None = None  # one action for every alarm: it only names the topic
        for alarm in alarms:
            if any(alarm is seen for seen in self._watched):
                continue
            cfn = alarm.node.default_child
            assert isinstance(cfn, cloudwatch.CfnAlarm)
            # The L2 alarm gives its L1 a lazy physical name that resolves to nothing when no name was chosen.
            current = stack.resolve(cfn.alarm_name)
            if current is None:
                stack_path = stack.node.path if stack_path is None else stack_path
                path = alarm.node.path[len(stack_path) :].strip("/").replace("/", "-")
                name = f"{self.alarm_name_prefix}{path}"
                if not is_token(name) and len(name) > MAX_ALARM_NAME:
                    name = f"{self.alarm_name_prefix}{cdk.Names.unique_id(alarm)}"[:MAX_ALARM_NAME]
                cfn.alarm_name = name
            elif (
                isinstance(current, str)
                and not is_token(self.alarm_name_prefix)
                and not current.startswith(self.alarm_name_prefix)
            ):
                raise ValueError(
                    f"alarm: {current!r} does not start with {self.alarm_name_prefix!r}, "
                    "so CloudWatch may not publish it to the alarm topic"
                )
            action = cw_actions.SnsAction(self.topic) if action is None else action
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self._watched.append(alarm)

    def watch_all(self, scope: Construct) -> None:
        """:meth:`watch` every CloudWatch alarm defined under ``scope`` so far (the stack's, at the end of it)."""
        self.watch(*(node for node in scope.node.find_all() if isinstance(node, cloudwatch.Alarm)))

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        """Every alarm that reports to the topic."""
        return list(self._watched)
