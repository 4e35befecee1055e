"""Offline policy tools for synthesized CloudFormation templates: no AWS account, no aws-cdk-lib import.

- :mod:`sesmail.policy.templates` finds every policy document in the templates of a cloud assembly (IAM policies and
  roles, bucket, key, topic and queue policies, Lambda permissions, the SES identity policies held in
  ``Custom::SesIdentityPolicy``) and resolves the intrinsics it can (:mod:`sesmail.policy.intrinsics`).
- :mod:`sesmail.policy.lint` checks them against rules about SES and IAM mistakes (``sesmail lint``).
- :mod:`sesmail.policy.evaluate` answers "would this request be allowed?" (``sesmail check``).
- :mod:`sesmail.policy.cli` is the ``sesmail`` console script.

Everything here is pure Python, so the command starts fast; IAM's action and condition-key data comes from a
snapshot of AWS's Service Authorization Reference vendored in the package, loaded on first use
(:mod:`sesmail.policy.iamdb`).
"""
