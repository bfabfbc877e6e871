"""The interactive API documentation at ``/docs`` works with no network: the page loads
the vendored Swagger UI from ``/static/vendor/swagger-ui/``, never a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

EXTERNAL_URL = re.compile(r"https?://|[\"'(=]\s*//[^/\s]", re.IGNORECASE)


class _Refs(HTMLParser):
    """The ``src`` and ``href`` attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def test_docs_page_loads_only_local_assets(client: TestClient) -> None:
    """``/docs`` is HTML with no external URL (the CDN and the validator badge are gone),
    and every script, style sheet and icon it names is served by the service."""
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert not EXTERNAL_URL.search(r.text), EXTERNAL_URL.search(r.text)
    assert '"validatorUrl": null' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    parser = _Refs()
    parser.feed(r.text)
    assert {p.rsplit("/", 1)[-1] for p in parser.refs} >= {
        "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}
    for ref in parser.refs:
        assert ref.startswith("/static/vendor/swagger-ui/"), ref
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 500, ref
    assert "/openapi.json" in r.text
    assert client.get("/openapi.json").status_code == 200


def test_docs_page_is_not_in_the_openapi_document_and_redoc_is_off(
        client: TestClient) -> None:
    """``/docs`` is a page, not an API operation, and ``/redoc`` (which would load its
    script from a CDN) is not served."""
    paths = client.get("/openapi.json").json()["paths"]
    assert "/docs" not in paths
    assert client.get("/redoc").status_code == 404
