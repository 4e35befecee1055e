"""The contract between :class:`sesmail.MailboxExportTarget` and ``sesmail workmail export``: the descriptions of the
target's stack outputs (the command finds them by description in DescribeStacks) and the default key prefix."""

from __future__ import annotations

#: The bucket's key prefix the role may write under (and the key may encrypt under) by default.
DEFAULT_PREFIX = "mailbox-export"

OUTPUT_BUCKET = "WorkMail mailbox export: bucket"
OUTPUT_ROLE = "WorkMail mailbox export: role ARN"
OUTPUT_KEY = "WorkMail mailbox export: KMS key ARN"
OUTPUT_PREFIX = "WorkMail mailbox export: key prefix"
