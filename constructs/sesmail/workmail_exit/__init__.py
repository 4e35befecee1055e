"""Leaving Amazon WorkMail (AWS ends it on 2027-03-31): ``sesmail workmail inventory`` and ``sesmail workmail export``.

Command-line tools over the WorkMail API (no CDK here): the inventory reads every address the organization accepts and
proposes an address book; the export copies every mailbox into the bucket of a
:class:`sesmail.MailboxExportTarget`. See docs/leaving-workmail.md.
"""
