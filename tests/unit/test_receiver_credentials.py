"""A receiver URL with ``user:password@`` and a ``bearer_token`` is an error, never a
silent swap: requests would send the URL's password as Basic auth over the token."""

from __future__ import annotations

import pytest

from monitor.alerting.providers import PROVIDERS
from monitor.alerting.providers.base import SendContext
from monitor.config import ConfigError, parse_config
from tests.support.alert_payloads import NOW, RecordingHttp, firing, options

HEAD = '[[clusters]]\nname = "prod"\n[[receivers]]\nname = "oncall"\n'


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("webhook", 'url = "http://u:s3cret@127.0.0.1:9/hook"\nbearer_token = "t"\n'),
        ("webhook", 'url = "http://u@127.0.0.1:9/hook"\nbearer_token_env = "T"\n'),
        ("alertmanager", 'urls = ["http://u:s3cret@127.0.0.1:9093"]\nbearer_token = "t"\n'),
    ],
)
def test_inline_url_credentials_and_a_token_are_a_config_error(kind, extra):
    with pytest.raises(ConfigError) as info:
        parse_config(f'{HEAD}type = "{kind}"\n{extra}')
    (problem,) = info.value.problems
    assert problem.endswith(
        "has user:password@ and bearer_token is set: give one of them, not both"
    )
    assert "s3cret" not in problem


def test_either_alone_is_fine():
    options("webhook", 'url = "http://u:p@127.0.0.1:9/hook"\n')
    options("webhook", 'url = "http://127.0.0.1:9/hook"\nbearer_token = "t"\n')


def test_a_url_from_a_file_is_checked_when_sent(tmp_path):
    (tmp_path / "url").write_text("http://u:s3cret@127.0.0.1:9/hook\n")
    opts = options("webhook", f'url_file = "{tmp_path / "url"}"\nbearer_token = "t"\n')
    http = RecordingHttp()
    result = PROVIDERS["webhook"].send(opts, firing(), SendContext(NOW, http))
    assert not result.ok and http.calls == []
    assert result.error == (
        "url has user:password@ and bearer_token is set: give one of them, not both"
    )
