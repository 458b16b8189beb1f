"""The actor is the most specific name each kind of userIdentity offers."""

from __future__ import annotations

from typing import Any

import pytest

from processor.render.fields import resolve_actor

SSO_ROLE = "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
SSO_ARN = f"arn:aws:sts::111122223333:assumed-role/{SSO_ROLE}/alice@example.com"


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        pytest.param(
            {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice"},
            "arn:aws:iam::111122223333:user/alice",
            id="iam-user",
        ),
        pytest.param(
            {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:ci",
                "arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/deploy"}},
            },
            "arn:aws:sts::111122223333:assumed-role/deploy/ci",
            id="assumed-role",
        ),
        pytest.param(
            {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:alice@example.com",
                "arn": SSO_ARN,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                        f"{SSO_ROLE}",
                        "userName": SSO_ROLE,
                    }
                },
            },
            SSO_ARN,
            id="sso",
        ),
        pytest.param(
            {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root"},
            "arn:aws:iam::111122223333:root",
            id="root-with-arn",
        ),
        pytest.param({"type": "Root", "principalId": "111122223333"}, "root", id="root-without-arn"),
        pytest.param(
            {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            "cloudtrail.amazonaws.com",
            id="aws-service",
        ),
        pytest.param(
            {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"},
            "anonymous",
            id="anonymous",
        ),
        pytest.param(
            {"type": "AWSAccount", "principalId": "AIDAOTHERACCOUNT", "accountId": "444455556666"},
            "AIDAOTHERACCOUNT",
            id="other-account",
        ),
        pytest.param(
            {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"userName": "deploy"}}},
            "deploy",
            id="issuer-user-name-only",
        ),
        pytest.param({"type": "SAMLUser"}, "SAMLUser", id="type-only"),
        pytest.param({}, "unknown", id="empty"),
        pytest.param({"arn": None, "principalId": 123456}, "123456", id="odd-types"),
    ],
)
def test_actor_resolution(identity: dict[str, Any], expected: str) -> None:
    assert resolve_actor({"userIdentity": identity}) == expected


@pytest.mark.parametrize(
    "event", [{}, {"userIdentity": None}, {"userIdentity": "root"}, {"userIdentity": [1]}]
)
def test_missing_or_malformed_user_identity_is_unknown(event: dict[str, Any]) -> None:
    assert resolve_actor(event) == "unknown"
