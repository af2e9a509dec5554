"""REST plumbing: versions, the API budget and its header, session and access errors, faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

from integrations.sandbox.salesforce import control as sf
from integrations.sandbox.salesforce.demo import ADMIN_USERNAME, NOAPI_USERNAME
from tests.integrations.sandbox.salesforce.conftest import rest

LIMIT_EXCEEDED = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
API_DISABLED = [
    {"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}
]


def test_it_lists_the_api_versions_up_to_59(sandbox: Any) -> None:
    response = rest(sandbox, "GET", "/services/data/")

    assert response.status_code == 200
    versions = response.json()
    assert versions[-1] == {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}
    assert {"label": "Summer '23", "url": "/services/data/v58.0", "version": "58.0"} in versions
    assert {"label": "Winter '11", "url": "/services/data/v20.0", "version": "20.0"} in versions
    assert all(float(v["version"]) <= 59.0 for v in versions)


def test_an_older_version_works_and_a_newer_one_does_not_exist(sandbox: Any, admin_token: str) -> None:
    assert rest(sandbox, "GET", "/services/data/v55.0/limits/", admin_token).status_code == 200

    response = rest(sandbox, "GET", "/services/data/v60.0/limits/", admin_token)

    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_every_call_counts_against_the_daily_budget_and_says_so(sandbox: Any, api: Salesforce) -> None:
    first = api.limits()["DailyApiRequests"]
    second = api.limits()["DailyApiRequests"]

    assert first["Max"] == 100_000
    assert second["Remaining"] == first["Remaining"] - 1
    assert api.api_usage["api-usage"].used == 100_000 - second["Remaining"]
    assert api.api_usage["api-usage"].total == 100_000
    assert sf.api_usage(sandbox.state) == (2, 100_000)


def test_the_limit_header_is_on_every_rest_answer_errors_included(sandbox: Any, admin_token: str) -> None:
    ok = rest(sandbox, "GET", "sobjects/", admin_token)
    bad = rest(sandbox, "GET", "query/", admin_token, params={"q": "SELECT"})

    assert ok.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert bad.status_code == 400
    assert bad.headers["Sforce-Limit-Info"] == "api-usage=2/100000"


def test_it_refuses_calls_once_the_budget_is_spent(sandbox: Any, api: Salesforce, admin_token: str) -> None:
    sf.set_api_limit(sandbox.state, max=15_000, remaining=1)
    assert api.limits()["DailyApiRequests"] == {"Max": 15_000, "Remaining": 0}

    response = rest(sandbox, "GET", "limits/", admin_token)

    assert response.status_code == 403
    assert response.json() == LIMIT_EXCEEDED
    with pytest.raises(SalesforceRefusedRequest) as raised:
        api.query("SELECT Id FROM Lead LIMIT 1")
    assert raised.value.content == LIMIT_EXCEEDED


def test_the_budget_comes_back_after_a_day(sandbox: Any, api_as: Callable[[str], Salesforce]) -> None:
    sf.set_api_limit(sandbox.state, remaining=0)
    sf.advance_clock(sandbox.state, days=1)

    limits = api_as(ADMIN_USERNAME).limits()  # a fresh session: the old one expired with the day

    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 99_999}


def test_a_user_without_api_access_is_refused(sandbox: Any, api_as: Callable[[str], Salesforce]) -> None:
    with pytest.raises(SalesforceRefusedRequest) as raised:
        api_as(NOAPI_USERNAME).query("SELECT Id FROM Lead LIMIT 1")

    assert raised.value.status == 403
    assert raised.value.content == API_DISABLED
    assert sf.api_usage(sandbox.state)[0] == 0


def test_an_org_without_api_access_refuses_everyone(sandbox: Any, admin_token: str) -> None:
    sf.set_org_api_enabled(sandbox.state, False)

    response = rest(sandbox, "GET", "limits/", admin_token)

    assert (response.status_code, response.json()) == (403, API_DISABLED)


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YWRtaW46YWRtaW4="])
def test_a_missing_or_bad_session_is_invalid(sandbox: Any, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = rest(sandbox, "GET", "limits/", headers=headers)

    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_unknown_resources_and_methods_answer_like_salesforce(sandbox: Any, admin_token: str) -> None:
    missing = rest(sandbox, "GET", "no/such/thing", admin_token)
    wrong_method = rest(sandbox, "DELETE", "limits/", admin_token)
    unknown_object = rest(sandbox, "GET", "sobjects/Opportunity/describe/", admin_token)

    assert missing.status_code == unknown_object.status_code == 404
    assert missing.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    assert wrong_method.status_code == 405
    assert wrong_method.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert wrong_method.headers["Allow"] == "GET"


def test_it_counts_calls_per_endpoint(sandbox: Any, api: Salesforce) -> None:
    api.query("SELECT Id FROM Lead LIMIT 1")
    api.query("SELECT Id FROM Contact LIMIT 1")
    api.Lead.describe()
    api.limits()

    assert sf.api_calls(sandbox.state) == {"query": 2, "describe": 1, "limits": 1}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        (403, LIMIT_EXCEEDED),
        (503, [{"message": "The server is temporarily unavailable. Please try again later.",
                "errorCode": "SERVER_UNAVAILABLE"}]),
    ],
)  # fmt: skip
def test_injected_faults_carry_salesforce_error_bodies(
    sandbox: Any, admin_token: str, status: int, body: list[dict[str, str]]
) -> None:
    sandbox.control.inject_fault("/services/data/v59.0/query", status=status)

    response = rest(sandbox, "GET", "query/", admin_token, params={"q": "SELECT Id FROM Lead"})

    assert response.status_code == status
    assert response.json() == body
    assert rest(sandbox, "GET", "query/", admin_token, params={"q": "SELECT Id FROM Lead"}).status_code == 200


def test_a_server_fault_reaches_simple_salesforce_as_a_general_error(sandbox: Any, api: Salesforce) -> None:
    sandbox.control.inject_fault("/query", status=500)

    with pytest.raises(SalesforceGeneralError) as raised:
        api.query("SELECT Id FROM Lead LIMIT 1")

    assert raised.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_an_injected_token_endpoint_outage_answers_like_the_login_host(sandbox: Any) -> None:
    sandbox.control.inject_fault("/services/oauth2/token", status=503)

    response = rest(sandbox, "POST", "/services/oauth2/token", data={"grant_type": "refresh_token"})

    assert response.status_code == 503
    assert response.json() == {"error": "unknown_error", "error_description": "retry your request"}
