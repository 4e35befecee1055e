"""A test app with N people (``build(n)``): two domains, everyone may send as info@, jane also as sales@ of the
second domain; with the project's feature flags and cdk-nag, as the project's app synthesizes."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from sesmail import MailDomain, PeopleSmtpCredentials, Person
from tests.conftest import cdk_json_context

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
NAMES = ("jane", "bob")


def people(n: int) -> list[Person]:
    """jane (jane@, info@, sales@example.co.jp), bob (bob@), then person2.. (own address and info@)."""
    found = [
        Person(name="jane", send_as=["jane@example.com", "info@example.com", "sales@example.co.jp"]),
        Person(name="bob", send_as=["bob@example.com"]),
    ]
    found += [Person(name=f"person{i}", send_as=[f"person{i}@example.com", "info@example.com"]) for i in range(2, n)]
    return found[:n]


def build(n: int, outdir: str | Path | None = None) -> tuple[cdk.App, cdk.Stack, PeopleSmtpCredentials]:
    context = {key: value for key, value in cdk_json_context().items() if key != "environments"}
    app = cdk.App(context=context, outdir=str(outdir) if outdir else None)
    stack = cdk.Stack(app, "sesmail-people", env=ENV)
    domains = [
        MailDomain(stack, "Com", domain_name="example.com"),
        MailDomain(stack, "Jp", domain_name="example.co.jp", receive_mail=False),
    ]
    credentials = PeopleSmtpCredentials(stack, "People", people=people(n), identity=domains)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack, credentials
