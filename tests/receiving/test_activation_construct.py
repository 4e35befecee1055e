"""ReceiptRuleSetActivation: the custom resource's properties, the handler role's exact policy, one provider per
stack, dependencies, validation, and cdk-nag (AwsSolutions) on a small stack that uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import aws_cdk.aws_ses as ses
import pytest
from aws_cdk import assertions
from cdk_nag import AwsSolutionsChecks

from sesmail.receiving.activation import ACTIVATION_ACTIONS, ReceiptRuleSetActivation, RuleSetActivationProvider

ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _stack(app: cdk.App | None = None) -> cdk.Stack:
    return cdk.Stack(app or cdk.App(), "T", env=ENV)


def _custom_resources(template: assertions.Template) -> Mapping[str, Any]:
    return template.find_resources("Custom::SesReceiptRuleSetActivation")


def test_custom_resource_properties() -> None:
    stack = _stack()
    ReceiptRuleSetActivation(
        stack,
        "Activation",
        rule_set_name="sesmail-prod",
        take_over_active_rule_set=True,
        take_over_hint="takeOverActiveRuleSet: true (environments.prod)",
    )
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "Custom::SesReceiptRuleSetActivation",
        {
            "ServiceToken": assertions.Match.any_value(),
            "RuleSetName": "sesmail-prod",
            "TakeOverActiveRuleSet": "true",
            "TakeOverHint": "takeOverActiveRuleSet: true (environments.prod)",
        },
    )


def test_defaults_refuse_takeover_and_send_no_hint() -> None:
    stack = _stack()
    ReceiptRuleSetActivation(stack, "Activation", rule_set_name="sesmail-prod")
    (resource,) = _custom_resources(assertions.Template.from_stack(stack)).values()
    props = resource["Properties"]
    assert {k: v for k, v in props.items() if k != "ServiceToken"} == {
        "RuleSetName": "sesmail-prod",
        "TakeOverActiveRuleSet": "false",
    }


def test_handler_role_may_only_describe_and_set_the_active_rule_set_and_keep_its_own_record() -> None:
    stack = _stack()
    ReceiptRuleSetActivation(stack, "Activation", rule_set_name="sesmail-prod")
    template = assertions.Template.from_stack(stack)
    provider = stack.node.find_child("SesmailRuleSetActivationProvider")
    assert isinstance(provider, RuleSetActivationProvider)
    role_id = stack.get_logical_id(provider.role.node.default_child)  # type: ignore[arg-type]
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    statements = sorted(
        (s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]),
        key=lambda s: str(s["Action"]),
    )
    log_group_id = stack.get_logical_id(
        provider.node.find_child("Logs").node.default_child  # type: ignore[arg-type]
    )

    def parameter(name: str) -> dict:
        arn = f":ssm:eu-west-1:123456789012:parameter/sesmail/receipt-rule-set-activation/{name}"
        return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, arn]]}

    stacks = ":cloudformation:eu-west-1:123456789012:stack/*"
    assert statements == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        },
        {
            "Action": ["ses:DescribeActiveReceiptRuleSet", "ses:SetActiveReceiptRuleSet"],
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Action": ["ssm:PutParameter", "ssm:DeleteParameter"],
            "Effect": "Allow",
            "Resource": parameter("sesmail-prod"),
        },
        {
            # Issue 21, item 4: whether the stack named in a record left at this set's name still exists.
            "Action": "cloudformation:DescribeStacks",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, stacks]]},
        },
        {"Action": "ssm:GetParameter", "Effect": "Allow", "Resource": parameter("*")},
    ]
    assert list(ACTIVATION_ACTIONS) == statements[1]["Action"]
    # No managed policies on any role this construct creates.
    for role in template.find_resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_handler_runtime_and_log_retention() -> None:
    stack = _stack()
    ReceiptRuleSetActivation(stack, "Activation", rule_set_name="sesmail-prod")
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Runtime": "python3.14", "Handler": "index.handler", "Timeout": 120},
    )
    template.resource_count_is("AWS::Logs::LogGroup", 2)
    template.all_resources_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_one_provider_per_stack() -> None:
    stack = _stack()
    ReceiptRuleSetActivation(stack, "A", rule_set_name="set-a")
    ReceiptRuleSetActivation(stack, "B", rule_set_name="set-b")
    template = assertions.Template.from_stack(stack)
    assert len(_custom_resources(template)) == 2
    template.resource_count_is("AWS::Lambda::Function", 2)  # the handler and the framework's onEvent
    assert RuleSetActivationProvider.of(stack) is RuleSetActivationProvider.of(stack.node.find_child("A"))  # type: ignore[arg-type]


def test_resource_depends_on_the_handler_policy() -> None:
    stack = _stack()
    activation = ReceiptRuleSetActivation(stack, "Activation", rule_set_name="sesmail-prod")
    template = assertions.Template.from_stack(stack)
    resource_id = stack.get_logical_id(activation.resource.node.default_child)  # type: ignore[arg-type]
    depends_on = template.to_json()["Resources"][resource_id]["DependsOn"]
    assert any(dep.startswith("SesmailRuleSetActivationProviderRoleDefaultPolicy") for dep in depends_on)


def test_rule_set_prop_uses_its_name_and_depends_on_it_through_the_ref_alone(tmp_path: Path) -> None:
    """Issue 21, item 7. CloudFormation: "if the properties of resource A use a !Ref to resource B ... Resource B is
    created before resource A. Resource A is deleted before resource B" (DependsOn attribute): the Ref in RuleSetName
    orders the activation after the set; a DependsOn as well is a dependency stated twice, cfn-lint W3005, which a
    user's app cannot remove (and the README promises cfn-lint-clean templates). cfn-lint runs with no config."""
    stack = _stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="sesmail-prod")
    activation = ReceiptRuleSetActivation(stack, "Activation", rule_set=rule_set)
    template = assertions.Template.from_stack(stack)
    rule_set_id = stack.get_logical_id(rule_set.node.default_child)  # type: ignore[arg-type]
    resource_id = stack.get_logical_id(activation.resource.node.default_child)  # type: ignore[arg-type]
    resource = template.to_json()["Resources"][resource_id]
    assert resource["Properties"]["RuleSetName"] == {"Ref": rule_set_id}
    assert rule_set_id not in resource.get("DependsOn", [])
    path = tmp_path / "T.template.json"
    path.write_text(json.dumps(template.to_json()))
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]


def test_previous_rule_set_name_is_the_handlers_data() -> None:
    stack = _stack()
    activation = ReceiptRuleSetActivation(stack, "Activation", rule_set_name="sesmail-prod")
    resource_id = stack.get_logical_id(activation.resource.node.default_child)  # type: ignore[arg-type]
    assert stack.resolve(activation.previous_rule_set_name) == {"Fn::GetAtt": [resource_id, "PreviousRuleSetName"]}


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({}, "rule_set_name: give either rule_set_name or rule_set"),
        ({"rule_set_name": "bad name"}, "rule_set_name: 'bad name' is not a receipt rule set name"),
        ({"rule_set_name": "-starts-with-dash"}, "rule_set_name: '-starts-with-dash'"),
        ({"rule_set_name": "ok", "take_over_active_rule_set": "yes"}, "take_over_active_rule_set: 'yes' is not a bool"),
        ({"rule_set_name": "ok", "take_over_hint": " "}, "take_over_hint: ' ' is empty"),
    ],
)
def test_invalid_props(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReceiptRuleSetActivation(_stack(), "Activation", **props)


def test_both_name_and_rule_set_is_an_error() -> None:
    stack = _stack()
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="sesmail-prod")
    with pytest.raises(ValueError, match="rule_set_name: give either"):
        ReceiptRuleSetActivation(stack, "Activation", rule_set_name="sesmail-prod", rule_set=rule_set)


def test_unresolved_name_is_accepted() -> None:
    stack = _stack()
    name = cdk.CfnParameter(stack, "Name").value_as_string
    activation = ReceiptRuleSetActivation(stack, "Activation", rule_set_name=name)
    assert activation.rule_set_name == name


def test_cdk_nag_passes_on_a_small_stack() -> None:
    app = cdk.App()
    stack = _stack(app)
    rule_set = ses.ReceiptRuleSet(stack, "RuleSet", receipt_rule_set_name="sesmail-prod")
    ReceiptRuleSetActivation(stack, "Activation", rule_set=rule_set, take_over_active_rule_set=True)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Any unacknowledged AwsSolutions finding makes synth raise.
    assembly = app.synth()
    assert [artifact.stack_name for artifact in assembly.stacks] == ["T"]


def test_cdk_nag_would_flag_the_wildcard_without_the_acknowledgement() -> None:
    # Guards the acknowledgement's id: the same wildcard grant on an un-acknowledged role is a finding.
    import aws_cdk.aws_iam as iam

    app = cdk.App()
    stack = _stack(app)
    role = iam.Role(stack, "Bare", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_principal_policy(iam.PolicyStatement(actions=list(ACTIVATION_ACTIONS), resources=["*"]))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match=r"AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


def _record_policies(name: str | None = None) -> dict[str, Any]:
    stack = _stack()
    if name is None:  # a name known only at deploy time
        rule_set = ses.ReceiptRuleSet(stack, "RuleSet")
        ReceiptRuleSetActivation(stack, "Activation", rule_set=rule_set)
    else:
        ReceiptRuleSetActivation(stack, "Activation", rule_set_name=name)
    policies = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    return {lid: p for lid, p in policies.items() if lid.startswith("ActivationRecordPolicy")}


def test_a_renamed_set_gets_a_new_record_policy_beside_the_old_one() -> None:
    """Issue 21, item 2. On a rename the handler deletes the old name's record (and the rollback writes it back and
    deletes the new one), so both records must be writable during the update and its rollback. CloudFormation: "If the
    properties of resource A use a !Ref to resource B ... Resource B is updated before resource A" / "created before"
    (DependsOn attribute), and resources the new template no longer has are removed in the update's cleanup
    (UPDATE_COMPLETE_CLEANUP_IN_PROGRESS), after the activation's update. A policy whose logical id carries the set's
    name is such a new resource on a rename: the old name's policy stays until cleanup. The IAM-enforcing lifecycle
    suite plays it."""
    (old_id, old), (new_id, new) = (*_record_policies("sesmail-prod").items(), *_record_policies("sesmail-v2").items())
    assert old_id != new_id
    for policy, name in ((old, "sesmail-prod"), (new, "sesmail-v2")):
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Resource"]["Fn::Join"][1][-1].endswith(f"/receipt-rule-set-activation/{name}")
    assert _record_policies("sesmail-prod").keys() == {old_id}, "the same name keeps the same policy"


def test_a_set_named_at_deploy_time_may_write_any_activation_record() -> None:
    """A generated name changes with no change to the policy's logical id: then every record is writable."""
    ((_, policy),) = _record_policies(None).items()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"]["Fn::Join"][1][-1].endswith("/receipt-rule-set-activation/*")


def test_restore_on_delete_and_take_over_only_props() -> None:
    """``restore_on_delete=False`` and ``take_over_only`` reach the custom resource as ``RestoreOnDelete: "false"``
    and ``TakeOverOnly``; the defaults add neither (templates of existing stacks do not change); a bad set name is
    refused in one line."""
    import aws_cdk as cdk
    import pytest
    from aws_cdk import assertions

    from sesmail.receiving.activation import ReceiptRuleSetActivation

    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="111122223333", region="us-east-1"))
    ReceiptRuleSetActivation(stack, "Plain", rule_set_name="a")
    ReceiptRuleSetActivation(
        stack, "Cutover", rule_set_name="b", take_over_active_rule_set=True, restore_on_delete=False,
        take_over_only="INBOUND_MAIL",
    )  # fmt: skip
    found = assertions.Template.from_stack(stack).find_resources("Custom::SesReceiptRuleSetActivation")
    props = {p["Properties"]["RuleSetName"]: p["Properties"] for p in found.values()}
    assert "RestoreOnDelete" not in props["a"] and "TakeOverOnly" not in props["a"]
    assert props["b"]["RestoreOnDelete"] == "false" and props["b"]["TakeOverOnly"] == "INBOUND_MAIL"
    with pytest.raises(ValueError, match=r"^take_over_only: "):
        ReceiptRuleSetActivation(stack, "Bad", rule_set_name="c", take_over_only="no spaces")
    with pytest.raises(ValueError, match=r"^restore_on_delete: 'no' is not a bool$"):
        ReceiptRuleSetActivation(stack, "Bad2", rule_set_name="d", restore_on_delete="no")  # type: ignore[arg-type]
