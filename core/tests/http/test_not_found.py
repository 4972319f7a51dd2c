"""A 404 says where to go: `/` names the API docs, a path without its trailing slash names the
path with one (a 404, not a redirect: a bank does not follow a redirect on POST)."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_root_points_to_the_api_docs(asgi_client):
    response = await asgi_client.get("/")

    assert response.status_code == 200
    assert response.json() == {
        "service": "bank-webhook-payments",
        "docs": "/api/docs/",
        "schema": "/api/schema/",
    }
    assert (await asgi_client.get(response.json()["docs"])).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/webhook/bank"),
        ("GET", "/api/organizations/1234567890/balance"),
        ("GET", "/api/docs"),
    ],
)
async def test_a_missing_trailing_slash_is_a_404_that_says_so(asgi_client, method, path):
    response = await asgi_client.request(method, path, json={})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == f"Not found: {path} needs a trailing slash: {path}/"


async def test_an_unknown_path_is_a_plain_404(asgi_client):
    response = await asgi_client.get("/no/such/path")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Not found."
