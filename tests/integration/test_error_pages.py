"""Unknown addresses and methods: an HTML page for browsers, a problem document for programs."""

from __future__ import annotations

import pytest

from tests.support.app import AppClient

PROBLEM = "application/problem+json"
# What Chromium and Firefox send when following a link or typing an address.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _assert_error_page(text: str, heading: str) -> None:
    assert f"<h1>{heading}</h1>" in text
    for landmark in ('href="#main"', "<nav", "<main", "<footer"):
        assert landmark in text
    # The caller is not known on an unknown address: both ways on are offered.
    assert '<a href="/">Home</a>' in text
    assert '<a href="/dashboard">Dashboard</a>' in text
    assert "problem" not in text


async def test_browser_gets_an_html_404_page(client: AppClient) -> None:
    response = await client.get("/no-such-page", headers={"accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    _assert_error_page(response.text, "Page not found")
    assert "There is nothing at this address." in response.text
    assert "<title>Page not found · Timebank</title>" in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_unknown_path_below_a_page_is_html_too(client: AppClient) -> None:
    response = await client.get("/listings/not-a-number/edit", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


async def test_browser_gets_an_html_405_page_with_allow(
    client: AppClient,
) -> None:
    response = await client.post(
        "/dashboard",
        content=b"x=1",
        headers={"accept": BROWSER_ACCEPT, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "GET" in response.headers["allow"]
    _assert_error_page(response.text, "Method Not Allowed")
    assert "This address does not accept that kind of request." in response.text


@pytest.mark.parametrize("path", ["/api/v1/no-such", "/api", "/health/no-such", "/ready/x"])
async def test_machine_paths_keep_problem_documents_for_browsers(
    client: AppClient, path: str
) -> None:
    response = await client.get(path, headers={"accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "not_found"
    assert body["instance"] == path


async def test_api_wrong_method_stays_a_problem_for_browsers(
    client: AppClient,
) -> None:
    response = await client.post("/health", headers={"accept": BROWSER_ACCEPT})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        PROBLEM,
        "application/json, text/html",
        "text/html;q=0.5, */*",
    ],
)
async def test_json_clients_keep_problem_documents_on_page_paths(
    client: AppClient, accept: str | None
) -> None:
    headers = {"accept": accept} if accept else {}
    response = await client.get("/no-such-page", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "not_found"


async def test_page_wrong_method_stays_a_problem_for_json_clients(
    client: AppClient,
) -> None:
    response = await client.delete("/dashboard", headers={"accept": "application/json"})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
