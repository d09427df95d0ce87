"""The REST backend's cluster keys: read when `backend = "rest"`, refused elsewhere, every
problem named with its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, parse_config


def cluster(body: str) -> str:
    return f'[[clusters]]\nname = "a"\n{body}\n'


def test_a_rest_cluster():
    config = parse_config(
        cluster(
            'backend = "rest"\nurls = ["https://rest1:6820/", "https://rest2:6820"]\n'
            'user = "slurm"\ntoken_file = "/etc/slurm-sla/jwt"\nca_file = "/etc/ssl/ca.pem"\n'
            "request_timeout_seconds = 3\nslurmctld_port = 6817\naccounting = false\n"
        )
    )
    c = config.clusters[0]
    assert c.backend == "rest"
    assert c.rest.urls == ("https://rest1:6820", "https://rest2:6820")
    assert (c.rest.user, c.rest.token_file) == ("slurm", Path("/etc/slurm-sla/jwt"))
    assert c.rest.timeout_seconds == 3 and not c.rest.insecure_skip_verify


def test_the_default_backend_is_the_cli_and_has_no_rest_settings():
    c = parse_config(cluster("")).clusters[0]
    assert c.backend == "cli" and c.rest is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('backend = "rest"', "url: required with backend"),
        ('backend = "rest"\nurl = "rest1:6820"', "expected an http:// or https:// URL"),
        ('backend = "rest"\nurl = "http://a"\nurls = ["http://b"]', "urls: give url or urls"),
        ('url = "http://rest1:6820"', 'url: only for backend = "rest"'),
        (
            'backend = "rest"\nurl = "http://a"\ntoken_file = "/t"\ntoken_env = "T"',
            "token_env: give token_file or token_env",
        ),
        (
            'backend = "rest"\nurl = "http://a"\ninsecure_skip_verify = true\nca_file = "/c"',
            "ca_file: pointless",
        ),
        ('backend = "grpc"', "backend: must be one of cli, rest"),
        ('backend = "rest"\nurl = "http://a"\ntokenfile = "/t"', "did you mean 'token_file'"),
    ],
)
def test_each_problem_is_named(body, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config(cluster(body))


def test_readyz_is_asked_by_default_through_the_cli_only():
    cli = parse_config(cluster("")).clusters[0]
    rest = parse_config(cluster('backend = "rest"\nurl = "http://a"')).clusters[0]
    forced = parse_config(cluster('backend = "rest"\nurl = "http://a"\nreadyz = true')).clusters[0]
    assert (cli.asks_readyz, rest.asks_readyz, forced.asks_readyz) == (True, False, True)
