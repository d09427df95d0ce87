"""Config loading: defaults, validation, FILE:LINE errors, all at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config.toml"


def test_example_config_is_valid():
    config = load_config(EXAMPLE)
    assert config.monitor.interval_seconds == 10
    assert config.clusters[0].name == "prod"
    assert config.clusters[0].command_env() == {"SLURM_CONF": "/etc/slurm/slurm.conf"}
    assert config.maintenance[0].start == dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
    assert config.receivers[0].options["url"] == "http://127.0.0.1:9999/hook"


def test_defaults_from_minimal_config():
    config = parse_config('[[clusters]]\nname = "a"\n')
    m = config.monitor
    assert (m.interval_seconds, m.failure_threshold, m.recovery_threshold) == (10, 2, 2)
    assert (m.confirm_interval_seconds, m.command_timeout_seconds) == (1, 5)
    assert m.listen == "0.0.0.0:9817"
    assert str(m.state_dir) == "/var/lib/slurm-sla-monitor"
    assert config.clusters[0].slo.slurmctld == 99.9
    assert config.clusters[0].slo.slurmdbd == 99.5
    assert str(config.clusters[0].slurm_bin) == "/usr/bin"


def test_per_cluster_slo_overrides_only_what_it_names():
    text = '[slo]\nslurmctld = 99.5\n[[clusters]]\nname = "a"\n[clusters.slo]\nslurmdbd = 99\n'
    config = parse_config(text)
    assert config.clusters[0].slo.slurmctld == 99.5
    assert config.clusters[0].slo.slurmdbd == 99


def test_every_error_is_reported_with_file_line_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        "[monitor]\n"                       # 1
        "interval_seconds = -1\n"           # 2
        "failure_treshold = 3\n"            # 3
        'listen = "nope"\n'                 # 4
        "\n"                                # 5
        "[[clusters]]\n"                    # 6
        'name = "prod"\n'                   # 7
        "[[clusters]]\n"                    # 8
        'name = "prod"\n'                   # 9
        'local_daemons = ["slurmd"]\n'      # 10
        "[slo]\n"                           # 11
        "slurmctld = 120\n"                 # 12
        "[[receivers]]\n"                   # 13
        'name = "x"\n'                      # 14
        'type = "carrier-pigeon"\n'         # 15
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    expected = [
        f"{path}:2: monitor.interval_seconds: must be > 0",
        f"{path}:3: monitor.failure_treshold: unknown key (did you mean 'failure_threshold'?)",
        f"{path}:4: monitor.listen: expected HOST:PORT",
        f"{path}:9: clusters[1].name: duplicate cluster name 'prod'",
        f"{path}:10: clusters[1].local_daemons[0]: must be one of slurmctld, slurmdbd",
        f"{path}:12: slo.slurmctld: a percentage must be <= 100",
        f"{path}:15: receivers[0].type: must be one of",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)


def test_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[monitor]\ninterval_seconds = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].startswith(f"{path}:2: ")


def test_missing_file():
    with pytest.raises(ConfigError, match="file not found"):
        load_config("/nonexistent/config.toml")


def test_clusters_are_required():
    with pytest.raises(ConfigError, match="clusters: at least one"):
        parse_config("[monitor]\n")


def test_maintenance_needs_an_offset_and_an_order():
    text = ('[[clusters]]\nname = "a"\n[[maintenance]]\nstart = 2026-12-01T02:00:00\n'
            'end = 2026-12-01T01:00:00Z\n[[maintenance]]\nstart = 2026-12-01T02:00:00Z\n'
            'end = 2026-12-01T01:00:00Z\nclusters = ["b"]\n')
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.toml")
    joined = "\n".join(info.value.problems)
    assert "c.toml:4: maintenance[0].start: needs a UTC offset" in joined
    assert "c.toml:8: maintenance[1].end: must be after start" in joined
    assert "c.toml:9: maintenance[1].clusters[0]: no cluster named 'b'" in joined


def test_unknown_timezone():
    with pytest.raises(ConfigError, match="sla.timezone: unknown time zone"):
        parse_config('[sla]\ntimezone = "Mars/Olympus"\n[[clusters]]\nname = "a"\n')


def test_check_config_cli(tmp_path, capsys):
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[clusters]]\nname = "a"\nslurm_bin = 3\n')
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"{bad}:3: clusters[0].slurm_bin: expected a string, got an integer"
