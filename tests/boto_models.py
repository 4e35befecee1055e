"""One botocore loader of the AWS API models for the whole test process.

A new boto3 session parses the JSON models (and endpoints.json) again on its first client of each service; moto's
``mock_aws`` starts every test with no default session, so each test paid that parsing again (about 0.1 s a service).
The models are the same files for every test: sessions made here share one loader, and still resolve their own
credentials, region and configuration.
"""

from __future__ import annotations

import boto3
import botocore.loaders
import botocore.session

_MODELS = botocore.loaders.create_loader()


def session(region: str | None = None) -> boto3.session.Session:
    """A new boto3 session whose API models come from the process's shared loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _MODELS)
    made = boto3.session.Session(region_name=region, botocore_session=core)
    # boto3 appends its own data folder to the loader's search paths for each session: once is enough.
    _MODELS.search_paths[:] = list(dict.fromkeys(_MODELS.search_paths))
    return made


def use_as_default() -> None:
    """Make ``boto3.client`` (boto3's default session) use the shared models from now on. Call it inside ``mock_aws``,
    which restores the previous default session when it stops."""
    boto3.DEFAULT_SESSION = session()
