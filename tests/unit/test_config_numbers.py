"""Every number the config takes is finite and sane: ``inf``, ``nan``, ``1e308``, negative
values, zero intervals, timeouts past a day and objectives outside (0, 100] are errors with
``FILE:LINE``, the same in ``check-config``, ``run`` and a reload (all go through
``load_config``). Empty strings that used to mean a default silently are errors too."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ConfigError, load_config, parse_config

CLUSTER = '[[clusters]]\nname = "a"\n'

# (table, key): every number of the config outside the receivers' options.
NUMBERS = [
    ("monitor", "interval_seconds"),
    ("monitor", "failure_threshold"),
    ("monitor", "recovery_threshold"),
    ("monitor", "confirm_interval_seconds"),
    ("monitor", "command_timeout_seconds"),
    ("monitor", "slow_command_timeout_seconds"),
    ("monitor", "jitter_seconds"),
    ("monitor", "takeover_grace_seconds"),
    ("monitor", "max_workers"),
    ("slo", "slurmctld"),
    ("slo", "slurmdbd"),
    ("sla", "min_downtime_minutes"),
    ("thresholds", "ping_latency_seconds"),
    ("thresholds", "server_threads"),
    ("thresholds", "agent_queue_size"),
    ("thresholds", "dbd_agent_queue_size"),
    ("alerts", "repeat_interval_seconds"),
    ("alerts", "group_wait_seconds"),
    ("alerts", "group_interval_seconds"),
    ("alerts", "flap_window_seconds"),
    ("alerts", "flap_threshold"),
    ("alerts", "flap_hold_seconds"),
    ("alerts.outbox", "retry_initial_seconds"),
    ("alerts.outbox", "retry_max_seconds"),
    ("alerts.outbox", "max_retry_after_seconds"),
    ("alerts.outbox", "dead_letter_after_seconds"),
    ("alerts.outbox", "keep_sent_seconds"),
]


def load(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


@pytest.mark.parametrize(("table", "key"), NUMBERS, ids=lambda x: x)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "9223372036854775807"])
def test_non_finite_and_absurd_numbers_are_file_line_errors(tmp_path, table, key, value):
    problems = load(tmp_path, f"{CLUSTER}[{table}]\n{key} = {value}\n")
    assert len(problems) == 1, problems
    prefix = f"{tmp_path}/c.toml:4: {table}.{key}: "
    assert problems[0].startswith(prefix), problems
    message = problems[0][len(prefix) :]
    if value == "9223372036854775807" and key.endswith(("threshold", "workers")):
        assert message.startswith("must be <="), message
    elif "inf" in value or "nan" in value:
        expected = "expected an integer" if _is_integer(table, key) else "must be a finite number"
        assert message.startswith(expected), message
    else:
        assert message.startswith(("must be <=", "expected an integer", "a percentage")), message


def _is_integer(table: str, key: str) -> bool:
    return key.endswith(("threshold", "workers", "threads", "size"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[monitor]\ninterval_seconds = 0", "monitor.interval_seconds: must be > 0, got 0"),
        ("[monitor]\ninterval_seconds = 86401", "monitor.interval_seconds: must be <= 86400 "
                                                  "(a day)"),
        ("[monitor]\ncommand_timeout_seconds = 90000", "monitor.command_timeout_seconds: must be "
                                                        "<= 86400 (a day), got 90000"),
        ("[monitor]\nslow_command_timeout_seconds = -1", "monitor.slow_command_timeout_seconds: "
                                                          "must be > 0, got -1"),
        ("[monitor]\njitter_seconds = -0.5", "monitor.jitter_seconds: must be >= 0, got -0.5"),
        ("[monitor]\nfailure_threshold = 0", "monitor.failure_threshold: must be >= 1, got 0"),
        ("[monitor]\nfailure_threshold = 5000", "monitor.failure_threshold: must be <= 1000"),
        ("[monitor]\nmax_workers = 100000", "monitor.max_workers: must be <= 1024"),
        ("[slo]\nslurmctld = 0", "slo.slurmctld: must be > 0, got 0"),
        ("[slo]\nslurmctld = 100.01", "slo.slurmctld: a percentage must be <= 100, got 100.01"),
        ("[slo]\nslurmdbd = nan", "slo.slurmdbd: must be a finite number, got nan"),
        ("[sla]\nmin_downtime_minutes = 1441", "sla.min_downtime_minutes: must be <= 1440"),
        ("[thresholds]\nping_latency_seconds = inf", "thresholds.ping_latency_seconds: must be a "
                                                      "finite number, got inf"),
    ],
)  # fmt: skip
def test_absurd_values_name_the_bound(tmp_path, text, message):
    problems = load(tmp_path, f"{text}\n{CLUSTER}")
    assert problems == [f"{tmp_path}/c.toml:2: {message}"] or (
        len(problems) == 1 and problems[0].startswith(f"{tmp_path}/c.toml:2: {message}")
    ), problems


def test_a_receivers_timeout_past_a_day_is_an_error(tmp_path):
    problems = load(
        tmp_path,
        f'{CLUSTER}[[receivers]]\nname = "r"\ntype = "webhook"\n'
        'url = "http://127.0.0.1:1/"\ntimeout_seconds = 1e9\n',
    )
    assert problems == [
        f"{tmp_path}/c.toml:7: receivers[0].timeout_seconds: must be <= 86400 (a day), got 1e+09"
    ]


def test_a_per_cluster_slo_is_checked_too(tmp_path):
    problems = load(tmp_path, f"{CLUSTER}[clusters.slo]\nslurmctld = inf\n")
    assert problems == [f"{tmp_path}/c.toml:4: clusters[0].slo.slurmctld: must be a finite "
                        "number, got inf"]  # fmt: skip


def test_shipped_defaults_and_sane_edges_pass():
    config = parse_config(
        "[monitor]\ninterval_seconds = 86400\ncommand_timeout_seconds = 86400\n"
        "failure_threshold = 1000\n[slo]\nslurmctld = 100\nslurmdbd = 0.001\n" + CLUSTER
    )
    assert config.monitor.interval_seconds == 86400
    assert config.slo.slurmctld == 100


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[sla]\ntimezone = ""', 2, "sla.timezone: must not be empty (an IANA name, e.g. "
                                    "Europe/Berlin or UTC)"),
        ('[sla]\ntimezone = "Mars/Olympus"', 2, "sla.timezone: unknown time zone 'Mars/Olympus'"),
        ('[sla]\ntimezone = "/etc/passwd"', 2, "sla.timezone: unknown time zone '/etc/passwd'"),
        ('[monitor]\nstate_dir = ""', 2, "monitor.state_dir: must not be empty"),
        ('[monitor]\nlisten = ""', 2, "monitor.listen: must not be empty"),
        ('[[clusters]]\nname = "b"\nslurm_bin = " "', 3, "clusters[0].slurm_bin: must not be "
                                                         "empty"),
    ],
)  # fmt: skip
def test_empty_strings_do_not_silently_mean_the_default(tmp_path, text, line, message):
    body = text if "clusters" in text else f"{text}\n{CLUSTER}"
    problems = load(tmp_path, body)
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path}/c.toml:{line}: {message}"), (
        problems
    )


def test_check_config_rejects_them_with_exit_1(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(f"[monitor]\ninterval_seconds = inf\n[slo]\nslurmctld = nan\n{CLUSTER}")
    assert main(["check-config", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{path}:2: monitor.interval_seconds: must be a finite number, got inf",
        f"{path}:4: slo.slurmctld: must be a finite number, got nan",
    ]


def test_a_reload_to_infinite_numbers_keeps_the_running_configuration(tmp_path):
    from monitor.service import Service

    path = tmp_path / "c.toml"
    good = f'[monitor]\nlisten = "127.0.0.1:0"\nstate_dir = "{tmp_path}/state"\n{CLUSTER}'
    path.write_text(good)
    service = Service(path, load_config(path))
    try:
        path.write_text(good.replace("[monitor]\n", "[monitor]\ninterval_seconds = inf\n"))
        assert service.reload() is False
        assert service.config.monitor.interval_seconds == 10
        assert service.daemon.metrics.reload_ok._value.get() == 0
    finally:
        service.alerting.stop()
        service.ledger.close()
        service.db.close()
