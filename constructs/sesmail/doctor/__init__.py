"""``sesmail doctor``: check a deployed environment against what was synthesized.

What should be comes from ``cdk.json`` and the synthesized ``cdk.out/`` template (JSON only: no aws-cdk-lib, so the
command starts fast in a scheduled job); what is comes from read-only AWS calls through boto3's usual credential chain
and from DNS. Modules: :mod:`.expected` (the environment and its template), :mod:`.live` (clients, the stack's physical
resources, a resolver that fills them in), one module per area of checks (:mod:`.dns_checks`, :mod:`.ses_checks`,
:mod:`.receiving_checks`, :mod:`.auth_checks`, :mod:`.smtp_checks`, :mod:`.round_trip`), :mod:`.report` and
:mod:`.cli`.
"""
