"""A request head whose header lines are not all ``name: value`` is a 400: the stdlib
parser would end the headers at such a line and drop the rest unseen."""

from __future__ import annotations

import pytest

from exporters.http_server import Request, parse_head

GOOD = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic eDp5\r\n\r\n"


@pytest.mark.parametrize(
    "lines",
    [
        b"nocolon\r\nAuthorization: Basic eDp5\r\n",
        b"Content-Length : 5\r\n",  # whitespace before the colon (RFC 9112 5.1)
        b"\x00bad: y\r\n",
        b" leading: continuation\r\n",
    ],
)
def test_a_malformed_header_line_is_400_not_the_rest_dropped(lines):
    head = b"GET /metrics HTTP/1.1\r\n" + lines + b"Host: x\r\n\r\n"
    answer = parse_head(head)
    assert not isinstance(answer, Request)
    assert answer.status == 400


def test_well_formed_heads_still_parse():
    request = parse_head(GOOD)
    assert isinstance(request, Request)
    assert request.headers.get("Authorization") == "Basic eDp5"
    folded = parse_head(b"GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: x\r\n\r\n")
    assert isinstance(folded, Request) and folded.headers.get("Host") == "x"
