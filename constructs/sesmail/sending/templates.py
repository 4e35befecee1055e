"""``EmailTemplate``: an SES template whose ``{{placeholders}}`` are checked for consistency at synth."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_ses as ses
from constructs import Construct

from ..validation import is_token

_PLACEHOLDER = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*}}")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def placeholders(text: str) -> set[str]:
    """The names used as ``{{name}}`` in ``text``."""
    return set(_PLACEHOLDER.findall(text))


def check_placeholders(subject: str, text: str, html: str) -> None:
    """Text and HTML use the same placeholders, and the subject uses none that the bodies lack.

    A placeholder in only one body means one rendering silently leaves it empty for some readers.
    """
    in_text, in_html, in_subject = placeholders(text), placeholders(html), placeholders(subject)
    if in_text != in_html:
        only_text, only_html = sorted(in_text - in_html), sorted(in_html - in_text)
        raise ValueError(
            f"text_part/html_part: placeholders differ (only in text: {only_text}, only in html: {only_html})"
        )
    if not in_subject <= in_text:
        raise ValueError(f"subject_part: placeholders {sorted(in_subject - in_text)} are not used in the bodies")


class EmailTemplate(Construct):
    """An SES email template (subject, text and HTML parts), usable from SES v1 and v2 ``SendEmail``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        template_name: str,
        subject_part: str,
        text_part: str,
        html_part: str,
    ) -> None:
        """
        :param template_name: the name senders use (1-64 letters, digits, ``-`` and ``_``).
        :param subject_part: the subject, with ``{{placeholders}}``.
        :param text_part: the plain-text body.
        :param html_part: the HTML body; it must use the same placeholders as the text body.
        """
        super().__init__(scope, construct_id)
        if not is_token(template_name) and not _NAME.match(template_name):
            raise ValueError(f"template_name: {template_name!r} must be 1-64 letters, digits, '-' or '_'")
        if not any(is_token(part) for part in (subject_part, text_part, html_part)):
            check_placeholders(subject_part, text_part, html_part)
        self.template_name = template_name
        #: ``arn:<partition>:ses:<region>:<account>:template/<name>``: SES authorizes a templated send on it.
        self.template_arn = cdk.Stack.of(self).format_arn(
            service="ses",
            resource="template",
            resource_name=template_name,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.resource = ses.CfnTemplate(
            self,
            "Resource",
            template=ses.CfnTemplate.TemplateProperty(
                template_name=template_name, subject_part=subject_part, text_part=text_part, html_part=html_part
            ),
        )
