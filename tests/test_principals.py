"""The legacy WorkMail principal fix-up: account id or any IAM ARN in the account -> that account's root."""

from typing import Any

import pytest

from tests.conftest import load_handler

principals = load_handler("identity_policy", "principals")


@pytest.mark.parametrize(
    ("value", "partition", "expected"),
    [
        ("111122223333", "aws", "arn:aws:iam::111122223333:root"),
        ("111122223333", "aws-cn", "arn:aws-cn:iam::111122223333:root"),
        ("111122223333", "aws-us-gov", "arn:aws-us-gov:iam::111122223333:root"),
        ("arn:aws:iam::111122223333:user/amazon-workmail-us-east-1", "aws", "arn:aws:iam::111122223333:root"),
        # An ARN keeps its own partition whatever the stack's partition is.
        ("arn:aws-cn:iam::111122223333:user/amazon-workmail-x", "aws", "arn:aws-cn:iam::111122223333:root"),
        ("arn:aws-us-gov:iam::444455556666:role/Sender", "aws-us-gov", "arn:aws-us-gov:iam::444455556666:root"),
        ("arn:aws:sts::111122223333:assumed-role/R/session", "aws", "arn:aws:iam::111122223333:root"),
        ("arn:aws:iam::111122223333:root", "aws", "arn:aws:iam::111122223333:root"),
        ("  111122223333 ", "aws", "arn:aws:iam::111122223333:root"),
    ],
)
def test_to_account_root(value: str, partition: str, expected: str) -> None:
    assert principals.to_account_root(value, partition) == expected


@pytest.mark.parametrize(
    ("value", "partition"),
    [
        ("11112222333", "aws"),  # 11 digits
        ("arn:aws:s3:::bucket", "aws"),  # not IAM
        ("arn:aws-xx:iam::111122223333:root", "aws"),  # unknown partition
        ("arn:aws:iam::11112222333a:user/x", "aws"),
        ("111122223333", "aws-iso"),
        ("", "aws"),
    ],
)
def test_to_account_root_rejects(value: str, partition: str) -> None:
    with pytest.raises(ValueError, match=r"account|partition"):
        principals.to_account_root(value, partition)


def test_normalize_rewrites_only_aws_principals() -> None:
    document: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/amazon-workmail-us-east-1"}},
            {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/R"]}},
            {"Effect": "Allow", "Principal": {"Service": "workmail.us-east-1.amazonaws.com"}},
        ],
    }
    fixed = principals.normalize_aws_principals(document, "aws")
    assert fixed["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert fixed["Statement"][1]["Principal"] == {
        "AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]
    }
    assert fixed["Statement"][2]["Principal"] == {"Service": "workmail.us-east-1.amazonaws.com"}
    # The input is not modified in place.
    assert document["Statement"][0]["Principal"]["AWS"].endswith("user/amazon-workmail-us-east-1")
