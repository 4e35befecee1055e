"""``make deploy``/``make diff``: run the pinned CDK CLI for one environment; name a first-deploy IAM race in one line.

IAM: "IAM uses a distributed computing model called eventual consistency. Any change that you make in IAM (or other
AWS services) ... takes time to become visible from all possible endpoints" (IAM User Guide, "Troubleshoot IAM",
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
SES checks at ``CreateReceiptRule`` that it may use what the rule names, and refuses the rule otherwise:
``InvalidS3Configuration`` ("Amazon SES could not publish to the bucket, possibly due to permissions issues"),
``InvalidLambdaFunction``, ``InvalidSnsTopic`` (SES API reference, CreateReceiptRule, Errors), or, for an S3 action's
role, "Could not assume the provided IAM role". On a first deploy the role or policy it checks was created seconds
before, so the check can fail although the template is right; CloudFormation then rolls the new stack back, and the
next ``cdk deploy`` (which deletes a stack left in ROLLBACK_COMPLETE before creating it again) usually succeeds.

Usage: ``python tools/deploy.py deploy|diff ENVIRONMENT [CDK flags...]``; the CLI's output passes through and its exit
status is kept; a failure showing one of those refusals adds one line saying what happened and to run it again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

#: What SES answers when it cannot (yet) use the role, bucket, key, function or topic a receipt rule names.
PROPAGATION = re.compile(
    r"InvalidS3Configuration|InvalidLambdaFunction|InvalidSnsTopic|Could not assume the provided IAM role|"
    r"Could not write to bucket"
)


def hint(output: str, environment: str) -> str | None:
    """The one line to add when ``output`` of a failed deploy shows SES refusing a rule for access it was just given."""
    found = PROPAGATION.search(output)
    if found is None:
        return None
    return (
        f"make deploy: SES refused a receipt rule ({found.group(0)}) right after the stack created the role or policy "
        "it checks; IAM changes take time to reach every endpoint (eventual consistency) and CloudFormation rolled "
        f"back: run `make deploy ENV={environment}` again in a minute"
    )


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("deploy", "diff") or not argv[1]:
        print("usage: deploy.py deploy|diff ENVIRONMENT [CDK flags...]", file=sys.stderr)
        return 2
    verb, environment, flags = argv[0], argv[1], argv[2:]
    cdk = os.environ.get("SESMAIL_CDK", "cdk")
    process = subprocess.Popen(
        [cdk, verb, f"sesmail-{environment}", *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:  # passed through as it comes: a deploy takes minutes
        sys.stdout.write(line)
        sys.stdout.flush()
        seen.append(line)
    status = process.wait()
    if status != 0 and verb == "deploy":
        message = hint("".join(seen), environment)
        if message is not None:
            print(message, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
