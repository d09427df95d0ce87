"""Files the user names are read with a size limit: /dev/zero (or /dev/full, a FIFO fed
by `yes`) as a config, a web config, a secret, slurm.conf or `parse` input is a one-line
error, not a process that eats every byte of memory (15 GB in 15 s before the limit).
The tests use a sparse file just over the limit, so a regression fails them instead of
exhausting the machine's memory."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from exporters.web_config import load_web_config
from monitor.alerting.providers.base import Secret
from monitor.boundedread import InputTooLarge, read_stream
from monitor.cli import main
from monitor.errors import ConfigError, DeliveryError
from monitor.prober import read_slurm_conf
from monitor.topology import Topology


@pytest.fixture
def big(tmp_path) -> Path:
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)  # sparse: no disk used
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["parse", "ping", "BIG"],
        ["check-config", "BIG"],
        ["probe", "--config", "BIG"],
        ["report", "--config", "BIG", "--month", "2026-10"],
    ],
)
def test_an_endless_input_file_is_could_not_run_in_one_line(argv, big, capsys):
    assert main([str(big) if a == "BIG" else a for a in argv]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "larger than 16 MiB" in err


def test_an_endless_stdin_is_refused(big, monkeypatch, capsys):
    class Stdin:
        buffer = open(big, "rb")  # noqa: SIM115 - closed below

    monkeypatch.setattr("sys.stdin", Stdin)
    try:
        assert main(["parse", "sdiag"]) == 4
    finally:
        Stdin.buffer.close()
    assert "<stdin>: cannot read: larger than 16 MiB" in capsys.readouterr().err


def test_an_endless_web_config_secret_or_slurm_conf_is_named_not_read_whole(big):
    with pytest.raises(ConfigError, match="larger than 16 MiB"):
        load_web_config(big)
    with pytest.raises(DeliveryError, match="bearer_token_file .*big: cannot read .*16 MiB"):
        Secret(file=str(big)).resolve("bearer_token")
    assert read_slurm_conf(big) == Topology()


def test_the_limit_itself():
    assert read_stream(io.BytesIO(b"x" * 10), limit=10) == b"x" * 10
    with pytest.raises(InputTooLarge):
        read_stream(io.BytesIO(b"x" * 11), limit=10)
