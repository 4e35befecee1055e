"""The forwarder's verdict policy: what each of SES's receipt checks does to a message. No aws-cdk-lib: the settings
read it (``stacks.inbound_settings``) without a jsii runtime."""

from __future__ import annotations

#: The checks a verdict policy covers and the actions it may choose (the handler's ``fwd_verdicts`` has the same).
VERDICT_ACTIONS = ("forward", "tag", "notice", "skip")
VERDICT_CHECKS = ("virus", "spam", "dmarc", "spf", "dkim")
#: What each check does unless configured: a virus, spam or a DMARC failure under a quarantine/reject policy is held.
DEFAULT_VERDICT_POLICY = {"virus": "notice", "spam": "notice", "dmarc": "notice", "spf": "forward", "dkim": "forward"}
