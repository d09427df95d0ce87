"""A plain HTTP client for the tests of our HTTP endpoints: a Basic credential and a GET
that returns (status, body, headers) for error answers too."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request


def basic(credentials: bytes) -> str:
    return "Basic " + base64.b64encode(credentials).decode()


def get(url: str, auth: str | None = None, context=None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as resp:
            return resp.status, resp.read().decode(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)
