"""EmailTemplate: the CloudFormation template resource and the synth-time placeholder checks."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from sesmail.sending.templates import EmailTemplate

PARTS = {
    "subject_part": "Confirm your address, {{name}}",
    "text_part": "Hello {{name}}, open {{verification_url}}",
    "html_part": "<p>Hello {{ name }}, <a href='{{verification_url}}'>confirm</a></p>",
}


def test_template_resource() -> None:
    stack = cdk.Stack(cdk.App(), "T")
    EmailTemplate(stack, "Verify", template_name="signup-verification", **PARTS)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::Template",
        {
            "Template": {
                "TemplateName": "signup-verification",
                "SubjectPart": PARTS["subject_part"],
                "TextPart": PARTS["text_part"],
                "HtmlPart": PARTS["html_part"],
            }
        },
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"html_part": "<p>{{name}}</p>"}, r"only in text: \['verification_url'\], only in html: \[\]"),
        ({"subject_part": "Hi {{first}}"}, r"subject_part: placeholders \['first'\] are not used in the bodies"),
        ({"template_name": "sign up"}, "template_name: 'sign up' must be 1-64"),
    ],
)
def test_bad_templates(changes: dict, message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    props = {"template_name": "signup-verification", **PARTS, **changes}
    with pytest.raises(ValueError, match=message):
        EmailTemplate(stack, "Verify", **props)
