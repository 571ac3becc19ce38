"""botocore sessions that see the config file as shellvault read it, never the file.

botocore's own config parser is quadratic in a long line (a megabyte-long header takes
minutes) and rejects what go-ini reads (a key or a section set twice), so a botocore
session here gets `AwsConfig.sdk_config`: the profile's own section and the
``[services]`` section it names, which is all an STS, SSO or OIDC client reads from the
file (endpoint_url, services, sts_regional_endpoints, ...).  AWS_PROFILE in the
environment never chooses another profile.
"""

from __future__ import annotations

from typing import Any

# botocore's session variable spec: (config key, env var, default, converter); no env var.
_PROFILE_NOT_FROM_ENV = (None, None, None, None)


def botocore_session(profile_name: str | None) -> Any:
    """A botocore session with ``profile_name``'s settings (none when it has no section)."""
    import botocore.session

    from .config import AwsConfig

    sdk_config = AwsConfig.load().sdk_config(profile_name) if profile_name else {"profiles": {}}
    session = botocore.session.Session(session_vars={"profile": _PROFILE_NOT_FROM_ENV})
    if profile_name in sdk_config["profiles"]:
        session.set_config_variable("profile", profile_name)
    session._config = sdk_config  # what `full_config` would otherwise parse from the file
    return session
