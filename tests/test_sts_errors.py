"""Error shapes moto cannot produce (botocore's Stubber), mapped to one-line messages."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from shellvault import sts
from shellvault.creds import Credentials
from shellvault.errors import MfaRejected, StsError

MASTER = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = botocore.session.Session().create_client(
        "sts", region_name="us-east-1", aws_access_key_id="AKIAX", aws_secret_access_key="x",
    )
    stubber = Stubber(client)
    stubber.activate()
    monkeypatch.setattr(sts, "_client", lambda *a, **k: client)
    return stubber


def _gst() -> Any:
    return sts.get_session_token(MASTER, profile_name="central", region=None, duration=3600,
                                 mfa_serial="arn:aws:iam::123456789012:mfa/alice", code="918273")


def _check_one_line(exc: StsError) -> str:
    text = str(exc)
    assert "\n" not in text
    assert MASTER.secret_access_key not in text and "918273" not in text
    return text


def test_invalid_mfa_code(stubbed: Stubber) -> None:
    stubbed.add_client_error(
        "get_session_token", service_error_code="AccessDenied",
        service_message="MultiFactorAuthentication failed with invalid MFA one time pass code.",
        http_status_code=403)
    with pytest.raises(MfaRejected) as info:  # a server's refresh does not ask again at once
        _gst()
    assert "rejected the MFA code" in _check_one_line(info.value)


def test_deleted_or_wrong_access_key(stubbed: Stubber) -> None:
    stubbed.add_client_error("get_session_token", service_error_code="InvalidClientTokenId",
                             service_message="The security token included in the request is "
                             "invalid.", http_status_code=403)
    with pytest.raises(StsError) as info:
        _gst()
    text = _check_one_line(info.value)
    assert "shellvault add central" in text and "InvalidClientTokenId" in text


def test_throttling_that_outlasts_the_retries(stubbed: Stubber) -> None:
    # botocore retries throttling itself (standard mode, 5 attempts, backoff); this is the
    # message once those are spent.
    stubbed.add_client_error("get_session_token", service_error_code="Throttling",
                             service_message="Rate exceeded", http_status_code=400)
    with pytest.raises(StsError) as info:
        _gst()
    assert "throttling" in _check_one_line(info.value)


def test_access_denied_on_assume_role_names_role_user_and_trust_policy(stubbed: Stubber) -> None:
    message = ("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
               "sts:AssumeRole on resource: arn:aws:iam::222222222222:role/Admin")
    stubbed.add_client_error("assume_role", service_error_code="AccessDenied",
                             service_message=message, http_status_code=403)
    with pytest.raises(StsError) as info:
        sts.assume_role(MASTER, profile_name="account-a", region=None,
                        role_arn="arn:aws:iam::222222222222:role/Admin",
                        session_name="shellvault-test",
                        duration=3600, external_id=None, tags=(), transitive_tags=(),
                        source_identity=None)
    text = _check_one_line(info.value)
    assert "arn:aws:iam::123456789012:user/alice" in text
    assert "arn:aws:iam::222222222222:role/Admin" in text
    assert "MultiFactorAuthPresent" in text and "trust policy" in text


def test_expired_session_token(stubbed: Stubber) -> None:
    stubbed.add_client_error("assume_role", service_error_code="ExpiredToken",
                             service_message="The security token included in the request is "
                             "expired", http_status_code=400)
    with pytest.raises(StsError) as info:
        sts.assume_role(MASTER, profile_name="account-a", region=None,
                        role_arn="arn:aws:iam::222222222222:role/Admin",
                        session_name="shellvault-test",
                        duration=3600, external_id=None, tags=(), transitive_tags=(),
                        source_identity=None)
    assert "shellvault clear account-a" in _check_one_line(info.value)
