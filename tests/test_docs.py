"""The README and docs/ stay usable: every relative link resolves (file and #anchor), every command the README shows
runs as written (make targets exist, ``sesmail`` subcommands and flags parse, ``npx cdk`` names a shipped
environment's stack, ``aws`` names a real operation and its parameters), and the configuration reference documents
exactly the keys of ``schema/environments.schema.json``.

Fast on purpose: nothing is synthesized and no command is executed; the parsers themselves are asked.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from sesmail.policy.cli import build_parser, main
from tests.conftest import ROOT, cdk_json_context

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
SCHEMA = json.loads((ROOT / "schema" / "environments.schema.json").read_text())
# The shipped examples only: an environment a company adds to cdk.json is not one the README may name.
SHIPPED = set(cdk_json_context()["environments"])
FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)\)")


# --- Markdown helpers -------------------------------------------------------------------------------------------


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and HTML comments (blanked, so line numbers stay): what a reader sees."""
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else line)
    return "\n".join(out)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip()).lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file's headings (repeated headings get GitHub's ``-1``, ``-2`` suffixes)."""
    seen: dict[str, int] = {}
    found = set()
    for line in _prose(path.read_text()).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def _links(path: Path) -> Iterator[str]:
    yield from LINK.findall(_prose(path.read_text()))


def _code_blocks(path: Path, *languages: str) -> Iterator[str]:
    text = path.read_text()
    for language, body in re.findall(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", text, re.S | re.M):
        if language in languages:
            yield textwrap.dedent(body)


def _commands(block: str) -> Iterator[str]:
    """One shell command per logical line of a block: continuations joined, prompts and comments dropped."""
    for line in block.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        if not line or line.startswith("#"):
            continue
        yield line


def _argv(command: str) -> list[str]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def readme_commands() -> list[str]:
    """Every command in the README's ``sh`` blocks and in its inline code that starts like a command."""
    found = [c for block in _code_blocks(README, "sh", "bash", "shell") for c in _commands(block)]
    for span in re.findall(r"`([^`\n]+)`", _prose(README.read_text())):
        if re.match(r"(make [a-z]|npx cdk |\.venv/bin/sesmail |sesmail [a-z]|aws [a-z0-9]+ [a-z])", span):
            found.append(span)
    return found


# --- Links ------------------------------------------------------------------------------------------------------


def _relative_links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for target in _links(page)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


@pytest.mark.parametrize(("page", "target"), _relative_links(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_every_relative_link_resolves(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.exists(), f"{page.relative_to(ROOT)}: link to {target!r}: no such file"
    assert ROOT in destination.parents or destination == ROOT, f"{page.relative_to(ROOT)}: {target!r} leaves the repo"
    if anchor:
        assert destination.suffix == ".md", f"{page.relative_to(ROOT)}: {target!r}: anchor into a non-Markdown file"
        assert anchor in anchors(destination), (
            f"{page.relative_to(ROOT)}: link to {target!r}: {destination.relative_to(ROOT)} has no heading #{anchor}"
        )


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    """Each page of docs/ is linked from the README or from a page the README links (one hop)."""
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _links(README) if t.partition("#")[0]}
    reachable = set(linked)
    for page in linked:
        if page.suffix == ".md" and page.parent == ROOT / "docs":
            reachable |= {(page.parent / t.partition("#")[0]).resolve() for t in _links(page) if t.partition("#")[0]}
    assert [p.name for p in DOCS if p.resolve() not in reachable] == []


def test_the_readme_is_a_door() -> None:
    """Issue 23: what sesmail is, the two commands, a first environment, deploying, the doctor, where to read more;
    at most about 300 lines."""
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    headings = re.findall(r"^## (.*)$", text, re.M)
    for needed in ("The two commands", "A first environment", "Deploying", "Checking it", "Where to read more"):
        assert any(h.startswith(needed) for h in headings), needed
    assert "production access" in text  # leaving the SES sandbox


def test_the_slug_matches_githubs_for_the_headings_used_here() -> None:
    assert slug("Policy lint and offline authorization check: `sesmail lint`, `sesmail check`") == (
        "policy-lint-and-offline-authorization-check-sesmail-lint-sesmail-check"
    )
    assert slug("Who may send as which address, and why") == "who-may-send-as-which-address-and-why"


# --- Commands ---------------------------------------------------------------------------------------------------


def _make_targets() -> set[str]:
    """Every rule's targets, also several on one line (``deploy diff: setup``)."""
    lines = re.findall(r"^([A-Za-z][\w. -]*?)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M)
    return {target for line in lines for target in line.split()}


def _stack(name: str) -> None:
    assert name.startswith("sesmail-") and name.removeprefix("sesmail-") in SHIPPED, (
        f"{name!r} is not the stack of a shipped environment ({', '.join(sorted(SHIPPED))})"
    )


def _check_make(argv: list[str]) -> None:
    targets = [a for a in argv[1:] if not a.startswith("-") and "=" not in a]
    assert targets, "make without a target"
    assert set(targets) <= _make_targets(), f"no make target {sorted(set(targets) - _make_targets())}"
    for arg in argv[1:]:
        if arg.startswith("ENV="):  # make deploy/diff ENV=<environment>: a shipped one, or the docs' placeholder
            _stack(f"sesmail-{arg.removeprefix('ENV=')}")


CDK_COMMANDS = {"ls", "list", "synth", "diff", "deploy", "destroy", "bootstrap", "import", "doctor"}


def _check_cdk(argv: list[str]) -> None:
    if argv[0].startswith("PATH="):  # the pinned CLI on the pinned Node: PATH="$PWD/node_modules/.bin:$PATH" cdk ...
        assert argv[0].startswith("PATH=$PWD/node_modules/.bin:") or argv[0].startswith(
            'PATH="$PWD/node_modules/.bin:'
        ), argv[0]
        argv = ["npx", *argv[1:]]
    assert argv[:2] == ["npx", "cdk"]
    assert argv[2] in CDK_COMMANDS, f"cdk {argv[2]!r}"
    for arg in argv[3:]:
        if arg.startswith("-"):
            continue
        if argv[2] == "bootstrap":
            assert re.fullmatch(r"aws://(\d{12}|<account>)/([a-z0-9-]+|<region>)", arg), arg
        else:
            _stack(arg)


def _check_sesmail(argv: list[str]) -> None:
    args = argv[1:]
    assert main([args[0], "--help"]) == 0, f"sesmail {args[0]}: no such subcommand"
    if len(args) == 1:  # prose naming the subcommand, such as `sesmail doctor`
        return
    parser = build_parser(with_check=args[0] == "check")
    try:
        namespace = parser.parse_args(args)
    except SystemExit as stop:  # argparse's way of refusing
        pytest.fail(f"sesmail {' '.join(args)}: does not parse (exit {stop.code})")
    if args[0] in ("doctor",):
        assert namespace.environment in SHIPPED, f"sesmail doctor {namespace.environment}: not a shipped environment"


AWS_GLOBAL = {"--query", "--region", "--profile", "--output", "--endpoint-url", "--no-cli-pager"}


def _check_aws(argv: list[str]) -> None:
    """An ``aws`` CLI command names a real operation, and each option a member of its input (from botocore's
    models: the CLI's ``put-account-details`` is ``PutAccountDetails``, ``--website-url`` is ``WebsiteURL``)."""
    service, operation = argv[1], argv[2]
    model = botocore.session.get_session().get_service_model(service)
    names = {xform_name(op, "-"): op for op in model.operation_names}
    assert operation in names, f"aws {service} {operation}: no such operation"
    shape = model.operation_model(names[operation]).input_shape
    members = {xform_name(m, "-"): m for m in (shape.members if shape else {})}
    for index, arg in enumerate(argv[3:], start=3):
        if not arg.startswith("--") or arg in AWS_GLOBAL:
            continue
        flag = arg[2:]
        member = members.get(flag) or (members.get(flag[3:]) if flag.startswith("no-") else None)
        assert member, f"aws {service} {operation}: no parameter {arg}"
        if shape and shape.members[member].type_name == "boolean":
            continue
        assert index + 1 < len(argv) and not argv[index + 1].startswith("--"), f"{arg} needs a value"
        if member == "StackName":
            _stack(argv[index + 1])


CHECKERS = {"make": _check_make, "npx": _check_cdk, "sesmail": _check_sesmail, "aws": _check_aws, "PATH": _check_cdk}


def _dispatch(command: str) -> tuple[str, list[str]]:
    argv = _argv(command)
    if argv[0] == ".venv/bin/sesmail":
        argv[0] = "sesmail"
    if argv[0].startswith("PATH="):
        return "PATH", argv
    return argv[0], argv


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_is_runnable(command: str) -> None:
    program, argv = _dispatch(command)
    assert program in CHECKERS, f"the README shows {command!r}, which no check here knows: add one"
    CHECKERS[program](argv)


def test_the_readme_shows_the_commands_a_newcomer_needs() -> None:
    shown = {(_dispatch(c)[0], _dispatch(c)[1][1]) for c in readme_commands()}
    assert {("make", "synth"), ("make", "test"), ("make", "deploy"), ("sesmail", "doctor")} <= shown


@pytest.mark.parametrize(
    "bad",
    [
        "make synthesize",
        "npx cdk deploy sesmail-acme",
        ".venv/bin/sesmail doctor example --round-trips",
        "aws sesv2 put-account-detail --mail-type TRANSACTIONAL",
        "aws sesv2 put-account-details --website https://example.com",
    ],
)
def test_a_wrong_command_is_caught(bad: str) -> None:
    program, argv = _dispatch(bad)
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        CHECKERS[program](argv)


# --- Configuration reference against the JSON Schema ------------------------------------------------------------

REFERENCE = ROOT / "docs" / "configuration-reference.md"


def _schema_keys(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, bool]]:
    """(dotted key, is a leaf) for every key the schema defines; array items add ``[]``."""
    for key, child in node.get("properties", {}).items():
        dotted = f"{path}.{key}" if path else key
        items = child.get("items", {}) if child.get("type") == "array" else {}
        nested = child if "properties" in child else items if "properties" in items else None
        yield dotted, nested is None
        if nested is not None:
            yield from _schema_keys(nested, dotted + ("[]" if nested is items else ""))


def schema_keys() -> dict[str, bool]:
    """The environment's keys; a key of ``domains[]`` that is also a top-level key is that key (one row for both)."""
    keys = dict(_schema_keys(SCHEMA["additionalProperties"]))
    return {k: leaf for k, leaf in keys.items() if not (k.startswith("domains[].") and k[10:] in keys)}


def documented_keys() -> set[str]:
    """The keys named in the first column of the reference's key tables (every table with a ``key`` header)."""
    found: set[str] = set()
    in_table = False
    for line in _prose(REFERENCE.read_text()).splitlines():
        if line.startswith("| key |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if in_table and not line.startswith("|---"):
            first = line.split("|")[1]
            found |= set(re.findall(r"`([^`]+)`", first))
    return found


def test_every_schema_key_is_documented() -> None:
    missing = sorted(k for k, leaf in schema_keys().items() if leaf and k not in documented_keys())
    assert missing == [], f"add a row to docs/configuration-reference.md for: {', '.join(missing)}"


def test_every_documented_key_exists_in_the_schema() -> None:
    unknown = sorted(documented_keys() - set(schema_keys()))
    assert unknown == [], f"docs/configuration-reference.md documents keys the schema does not have: {unknown}"


def test_the_readme_environment_is_valid() -> None:
    """The first environment the README shows passes the app's reader and the JSON Schema as written."""
    import jsonschema

    from stacks.settings import parse_environment

    (block,) = [b for b in _code_blocks(README, "json") if '"environments"' in b]
    environments = json.loads("{" + block + "}")["environments"]
    jsonschema.Draft202012Validator(SCHEMA).validate(environments)
    for name, raw in environments.items():
        parse_environment(name, raw)
