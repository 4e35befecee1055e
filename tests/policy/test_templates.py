"""Template discovery, stack context, intrinsic resolution and policy extraction (sesmail.policy.templates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sesmail.policy.intrinsics import Resolver, StackContext, is_unresolved, unresolved
from sesmail.policy.templates import ExtractedPolicy, TemplateError, extract_policies, load_templates, principal_arn

CTX = StackContext(account="123456789012", region="eu-west-1", partition="aws", stack_name="Mail")


def resolver(resources: dict[str, Any] | None = None, **extra: Any) -> Resolver:
    return Resolver({"Resources": resources or {}, **extra}, CTX)


def write_assembly(folder: Path, resources: dict[str, Any], environment: str = "aws://123456789012/eu-west-1") -> Path:
    """A minimal cloud assembly: manifest.json naming the stack's environment, and its template."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Mail": {
                "type": "aws:cloudformation:stack",
                "environment": environment,
                "properties": {"templateFile": "Mail.template.json"},
            }
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    path = folder / "Mail.template.json"
    path.write_text(json.dumps({"Resources": resources}))
    return path


# -- intrinsics ---------------------------------------------------------------------------------------------------


def test_pseudo_parameters_come_from_the_stack_context() -> None:
    r = resolver()
    value = {"Fn::Join": [":", [{"Ref": "AWS::Partition"}, {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]]}
    assert r.resolve(value) == "aws:eu-west-1:123456789012"
    assert r.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert r.resolve({"Ref": "AWS::StackName"}) == "Mail"


def test_ref_and_arn_of_resources_keep_the_logical_id_or_use_the_explicit_name() -> None:
    r = resolver(
        {
            "Generated": {"Type": "AWS::S3::Bucket"},
            "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "mail-${AWS::AccountId}"}}},
            "Key": {"Type": "AWS::KMS::Key"},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "forwarder"}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Path": "/service/"}},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
        }
    )
    assert r.resolve({"Ref": "Generated"}) == "Generated"
    assert r.resolve({"Fn::GetAtt": ["Generated", "Arn"]}) == "arn:aws:s3:::Generated"
    assert r.resolve({"Fn::GetAtt": ["Named", "Arn"]}) == "arn:aws:s3:::mail-123456789012"
    assert r.resolve({"Fn::GetAtt": ["Key", "Arn"]}) == "arn:aws:kms:eu-west-1:123456789012:key/Key"
    assert r.resolve({"Ref": "Topic"}) == "arn:aws:sns:eu-west-1:123456789012:Topic"
    assert r.resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == "arn:aws:lambda:eu-west-1:123456789012:function:forwarder"
    assert r.resolve({"Fn::GetAtt": "Role.Arn"}) == "arn:aws:iam::123456789012:role/service/Role"
    assert r.resolve({"Fn::GetAtt": ["Logs", "Arn"]}) == "arn:aws:logs:eu-west-1:123456789012:log-group:Logs:*"


def test_sub_select_split_find_in_map_and_if() -> None:
    r = resolver(
        {"Bucket": {"Type": "AWS::S3::Bucket"}},
        Mappings={"Regions": {"eu-west-1": {"Inbound": "inbound-smtp.eu-west-1.amazonaws.com"}}},
        Conditions={"IsEu": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}},
    )
    assert r.resolve({"Fn::Sub": "${Bucket.Arn}/in/${!Literal}"}) == "arn:aws:s3:::Bucket/in/${Literal}"
    assert r.resolve({"Fn::Sub": ["${A}-${AWS::Region}", {"A": {"Ref": "Bucket"}}]}) == "Bucket-eu-west-1"
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}) == "b"
    assert r.resolve({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Inbound"]}).startswith("inbound-smtp")
    assert r.resolve({"Fn::If": ["IsEu", "eu", "other"]}) == "eu"
    assert r.resolve({"A": {"Ref": "AWS::NoValue"}, "B": ["x", {"Ref": "AWS::NoValue"}]}) == {"B": ["x"]}


def test_what_cannot_be_known_offline_becomes_a_marker_that_names_the_intrinsic() -> None:
    r = resolver({"Custom": {"Type": "Custom::Thing"}}, Parameters={"Env": {"Type": "String"}})
    param = r.resolve({"Fn::Join": ["-", ["env", {"Ref": "Env"}]]})
    assert param == "env-" + unresolved({"Ref": "Env"}) and is_unresolved(param)
    assert r.resolve({"Fn::GetAtt": ["Custom", "Value"]}) == unresolved({"Fn::GetAtt": ["Custom", "Value"]})
    assert r.resolve({"Fn::ImportValue": "Shared"}) == unresolved({"Fn::ImportValue": "Shared"})
    assert '{"Ref":"Env"}' in param  # the logical name stays visible


def test_a_json_string_built_with_join_parses_with_unresolved_pieces_kept() -> None:
    r = resolver(Parameters={"Org": {"Type": "String"}})
    policy = {"Fn::Join": ["", ['{"Statement":[{"Resource":"arn:x:', {"Ref": "Org"}, '","Effect":"Allow"}]}']]}
    document = r.resolve_json_string(policy)
    assert document["Statement"][0]["Resource"] == "arn:x:" + unresolved({"Ref": "Org"})
    with pytest.raises(ValueError, match="not valid JSON"):
        r.resolve_json_string({"Fn::Join": ["", ['{"Version": ', {"Ref": "Org"}, "}"]]})


# -- files and context --------------------------------------------------------------------------------------------


def test_context_comes_from_the_cloud_assembly_manifest(tmp_path: Path) -> None:
    write_assembly(tmp_path / "cdk.out", {}, environment="aws://210987654321/cn-north-1")
    ((path, template, context),) = load_templates([tmp_path / "cdk.out"])
    assert path.name == "Mail.template.json" and template == {"Resources": {}}
    assert (context.account, context.region, context.partition, context.stack_name) == (
        "210987654321",
        "cn-north-1",
        "aws-cn",
        "Mail",
    )


def test_a_loose_template_takes_the_defaults_or_stays_unresolved(tmp_path: Path) -> None:
    path = tmp_path / "loose.template.json"
    path.write_text('{"Resources": {}}')
    ((_, _, context),) = load_templates([path])
    assert is_unresolved(context.account) and is_unresolved(context.region) and context.stack_name == "loose"
    ((_, _, given),) = load_templates([path], defaults=StackContext("111122223333", "us-gov-west-1", "aws"))
    assert (given.account, given.region, given.partition) == ("111122223333", "us-gov-west-1", "aws-us-gov")


def test_agnostic_environment_falls_back_to_the_defaults(tmp_path: Path) -> None:
    write_assembly(tmp_path, {}, environment="aws://unknown-account/unknown-region")
    ((_, _, context),) = load_templates([tmp_path], defaults=StackContext("111122223333", "eu-west-1"))
    assert (context.account, context.region) == ("111122223333", "eu-west-1")


def test_directories_are_searched_recursively_and_each_template_read_once(tmp_path: Path) -> None:
    write_assembly(tmp_path / "a", {})
    write_assembly(tmp_path / "b" / "nested", {})
    (tmp_path / "a" / "Mail.assets.json").write_text("{}")
    found = load_templates([tmp_path, tmp_path / "a" / "Mail.template.json"])
    assert [p.relative_to(tmp_path).as_posix() for p, _, _ in found] == [
        "a/Mail.template.json",
        "b/nested/Mail.template.json",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("{nope", "not a JSON template"), ("[1]", "not a CloudFormation template")],
)
def test_unreadable_input_raises_a_template_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "x.template.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TemplateError, match=message):
        load_templates([path])


def test_a_directory_without_templates_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"no \*\.template\.json"):
        load_templates([tmp_path])


# -- extraction ---------------------------------------------------------------------------------------------------

ALLOW_SEND = {"Effect": "Allow", "Action": "ses:SendRawEmail", "Resource": "*"}


def extract(tmp_path: Path, resources: dict[str, Any]) -> dict[tuple[str, str | None], ExtractedPolicy]:
    policies = extract_policies([write_assembly(tmp_path, resources)])
    return {(p.logical_id, p.name): p for p in policies}


def test_identity_policies_know_the_roles_and_users_they_apply_to(tmp_path: Path) -> None:
    doc = {"Version": "2012-10-17", "Statement": [ALLOW_SEND]}
    found = extract(
        tmp_path,
        {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "sender"}},
            "User": {"Type": "AWS::IAM::User", "Properties": {"Groups": [{"Ref": "Group"}]}},
            "Group": {"Type": "AWS::IAM::Group"},
            "Inline": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": doc, "Roles": ["sender"]}},
            "ToGroup": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": doc, "Groups": [{"Ref": "Group"}]},
            },
            "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": doc}},
            "Other": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "ManagedPolicyArns": [{"Ref": "Managed"}],
                    "Policies": [{"PolicyName": "own", "PolicyDocument": doc}],
                },
            },
        },
    )
    assert found[("Inline", None)].attached_to == ("Role",)
    assert found[("Inline", None)].kind == "identity" and found[("Inline", None)].document == doc
    assert found[("ToGroup", None)].attached_to == ("User",)
    assert found[("Managed", "Managed")].attached_to == ("Other",)
    assert (
        found[("Other", "own")].attached_to == ("Other",) and found[("Other", "own")].resource_type == "AWS::IAM::Role"
    )


def test_a_role_trust_policy_is_a_resource_policy_of_the_role(tmp_path: Path) -> None:
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    found = extract(tmp_path, {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}}})
    policy = found[("Role", "AssumeRolePolicyDocument")]
    assert policy.kind == "resource" and policy.resource_arns == ("arn:aws:iam::123456789012:role/Role",)


def test_resource_policies_name_the_protected_resource_arns(tmp_path: Path) -> None:
    doc = {"Statement": [ALLOW_SEND]}
    found = extract(
        tmp_path,
        {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "BucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": doc},
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": doc}},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": doc},
            },
            "Queue": {"Type": "AWS::SQS::Queue"},
            "QueuePolicy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": doc},
            },
        },
    )
    assert found[("BucketPolicy", None)].resource_arns == ("arn:aws:s3:::Bucket", "arn:aws:s3:::Bucket/*")
    assert found[("Key", None)].resource_arns == ("arn:aws:kms:eu-west-1:123456789012:key/Key",)
    assert found[("TopicPolicy", None)].resource_arns == ("arn:aws:sns:eu-west-1:123456789012:Topic",)
    assert found[("QueuePolicy", None)].resource_arns == ("arn:aws:sqs:eu-west-1:123456789012:Queue",)
    assert all(p.kind == "resource" for p in found.values())


def test_a_lambda_permission_becomes_a_one_statement_resource_policy(tmp_path: Path) -> None:
    found = extract(
        tmp_path,
        {
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Permission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["Fn", "Arn"]},
                    "Principal": "ses.amazonaws.com",
                    "SourceAccount": {"Ref": "AWS::AccountId"},
                    "SourceArn": "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/s:receipt-rule/r",
                },
            },
            "ByName": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": "other", "Principal": "111122223333"},
            },
        },
    )
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:Fn"
    permission = found[("Permission", None)]
    assert permission.resource_arns == (arn,)
    assert permission.document["Statement"] == [
        {
            "Sid": "Permission",
            "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {"aws:SourceArn": "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/s:receipt-rule/r"},
            },
        }
    ]
    by_name = found[("ByName", None)].document["Statement"][0]
    assert by_name["Principal"] == {"AWS": "111122223333"} and "Condition" not in by_name
    assert by_name["Resource"] == "arn:aws:lambda:eu-west-1:123456789012:function:other"


def ses_identity_policy(principal: str, normalize: str = "false") -> dict[str, Any]:
    policy = {
        "Fn::Join": [
            "",
            [
                '{"Statement":[{"Effect":"Allow","Action":"ses:SendRawEmail","Principal":{"AWS":"',
                principal,
                '"},"Resource":"arn:',
                {"Ref": "AWS::Partition"},
                ':ses:eu-west-1:123456789012:identity/example.com"}],"Version":"2012-10-17"}',
            ],
        ]
    }
    return {
        "Type": "Custom::SesIdentityPolicy",
        "Properties": {
            "Identity": "example.com",
            "PolicyName": "p",
            "Policy": policy,
            "NormalizeAwsPrincipals": normalize,
        },
    }


def test_the_ses_identity_policy_string_is_resolved_and_parsed(tmp_path: Path) -> None:
    found = extract(tmp_path, {"Send": ses_identity_policy("arn:aws:iam::111122223333:user/amazon-workmail-eu-west-1")})
    policy = found[("Send", "p")]
    assert policy.kind == "resource" and policy.resource_type == "Custom::SesIdentityPolicy"
    assert policy.resource_arns == ("arn:aws:ses:eu-west-1:123456789012:identity/example.com",)
    statement = policy.document["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:user/amazon-workmail-eu-west-1"}
    assert statement["Resource"] == "arn:aws:ses:eu-west-1:123456789012:identity/example.com"


def test_normalized_principals_are_extracted_as_the_handler_deploys_them(tmp_path: Path) -> None:
    found = extract(tmp_path, {"Send": ses_identity_policy("arn:aws:iam::111122223333:user/amazon-workmail-x", "true")})
    assert found[("Send", "p")].document["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}


def test_a_policy_string_that_is_not_json_is_reported_not_raised(tmp_path: Path) -> None:
    broken = {"Type": "Custom::SesIdentityPolicy", "Properties": {"Identity": "example.com", "Policy": "{not json"}}
    policy = extract(tmp_path, {"Send": broken})[("Send", None)]
    assert policy.document == {} and "not valid JSON" in policy.problems[0]


def test_principal_arn_of_roles_and_users() -> None:
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "app"}},
            "Generated": {"Type": "AWS::IAM::Role"},
            "User": {"Type": "AWS::IAM::User", "Properties": {"Path": "/mail/"}},
            "Bucket": {"Type": "AWS::S3::Bucket"},
        }
    }
    assert principal_arn(template, "Role", CTX) == "arn:aws:iam::123456789012:role/app"
    assert principal_arn(template, "Generated", CTX) == "arn:aws:iam::123456789012:role/Generated"
    assert principal_arn(template, "User", CTX) == "arn:aws:iam::123456789012:user/mail/User"
    with pytest.raises(KeyError):
        principal_arn(template, "Bucket", CTX)


def test_the_project_template_yields_the_workmail_identity_policy(project_app: Any) -> None:
    policies = extract_policies([project_app.synth().directory])
    (workmail,) = [
        p for p in policies if p.resource_type == "Custom::SesIdentityPolicy" and "workmail" in json.dumps(p.document)
    ]
    assert workmail.context.account == "123456789012" and workmail.context.region == "us-east-1"
    assert workmail.resource_arns == ("arn:aws:ses:us-east-1:123456789012:identity/example.com",)
    (statement,) = workmail.document["Statement"]
    assert statement["Principal"] == {"Service": "workmail.us-east-1.amazonaws.com"}
    assert not any(is_unresolved(p.document) for p in policies if p.resource_type == "AWS::S3::BucketPolicy")


def test_a_nested_template_gets_its_parents_account_and_region(tmp_path: Path) -> None:
    """A nested stack deploys into its parent's account and region; the cloud assembly lists its template only as a
    file asset of the parent (the parent's asset manifest), not as a stack artifact."""
    manifest = {
        "artifacts": {
            "parent.assets": {"type": "cdk:asset-manifest", "properties": {"file": "parent.assets.json"}},
            "parent": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://123456789012/eu-west-1",
                "properties": {"templateFile": "parent.template.json"},
                "dependencies": ["parent.assets"],
            },
        }
    }
    assets = {"files": {"h": {"source": {"path": "parentPeople1234.nested.template.json", "packaging": "file"}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "parent.assets.json").write_text(json.dumps(assets))
    for name in ("parent.template.json", "parentPeople1234.nested.template.json", "other.nested.template.json"):
        (tmp_path / name).write_text(json.dumps({"Resources": {}}))
    contexts = {path.name: context for path, _, context in load_templates([tmp_path])}
    nested = contexts["parentPeople1234.nested.template.json"]
    assert (nested.account, nested.region) == ("123456789012", "eu-west-1")
    assert "Unresolved" in str(contexts["other.nested.template.json"].account), "no parent lists it: unknown"
