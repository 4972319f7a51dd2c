"""What a production server exposes: /metrics only to its scraper, nothing to an unknown Host.

Through a real uvicorn in production configuration (DEBUG=0), as deployed.
"""

import httpx
import pytest

from testsupport.servers import PRODUCTION_ENV

# --- /metrics -------------------------------------------------------------------------------------


# --- Host -----------------------------------------------------------------------------------------

UNKNOWN_HOST = {"Host": "attacker.example"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/api/organizations/1234567890/balance/"),
        ("GET", "/api/docs/"),
        ("GET", "/admin/login/"),
        ("GET", "/no/such/path"),
        ("POST", "/no/such/path"),
    ],
)
def test_unknown_host_is_a_json_400_on_every_path(production_server_url, method, path):
    headers = {**UNKNOWN_HOST, "Authorization": f"Bearer {PRODUCTION_ENV['METRICS_TOKEN']}"}
    response = httpx.request(method, f"{production_server_url}{path}", headers=headers, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "disallowed_host"
