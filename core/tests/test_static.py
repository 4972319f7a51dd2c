"""Production mode serves the admin's and the API docs' CSS and JS, however it is started.

A real uvicorn with DEBUG=0 and nothing collected (an empty STATIC_ROOT, as after a fresh clone
and `DEBUG=0 make run`): every stylesheet and script the pages link must load, with its type.
"""

import re

import httpx
import pytest

from testsupport.servers import PRODUCTION_ENV, uvicorn_server

pytestmark = [pytest.mark.processes]

TYPES = {".css": "text/css", ".js": "javascript"}


def linked_static(html: str) -> list[str]:
    found = re.findall(r"""(?:href|src)=["'](/static/[^"'?#]+\.(?:css|js))""", html)
    assert found, "the page links no static file"
    return sorted(set(found))


def test_production_serves_static_files_without_collectstatic(django_db_setup, tmp_path):
    token = PRODUCTION_ENV["API_TOKENS"]
    empty = tmp_path / "staticfiles"
    server = uvicorn_server(workers=1, **PRODUCTION_ENV, STATIC_ROOT=str(empty))
    with server as url, httpx.Client(base_url=url, timeout=30) as client:
        login = client.get("/admin/login/")
        docs = client.get("/api/docs/", headers={"Authorization": f"Bearer {token}"})
        assert login.status_code == 200
        assert docs.status_code == 200
        failures = []
        for path in linked_static(login.text) + linked_static(docs.text):
            response = client.get(path)
            wanted = TYPES[path[path.rindex(".") :]]
            if response.status_code != 200 or wanted not in response.headers["content-type"]:
                failures.append(
                    f"{path}: {response.status_code} {response.headers.get('content-type')}"
                )
    assert not failures, "\n".join(failures)
    assert any("admin/css" in path for path in linked_static(login.text))
    assert any("swagger-ui" in path for path in linked_static(docs.text))
