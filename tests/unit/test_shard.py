"""`[monitor] shard = "K/N"`: every cluster of a fleet's file is watched by exactly one
daemon, shards are about even, and growing the fleet by one daemon moves only what the
new shard takes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest

from exporters.collectors.shard import ShardCollector
from monitor.cli import main
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.fleet.shard import Shard, owner, parse_shard

NAMES = [f"customer-{i:05d}" for i in range(10_000)]
names = st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=50, unique=True)


def fleet(shard: str | None, n: int = 12) -> str:
    head = f'[monitor]\nshard = "{shard}"\n' if shard else ""
    return head + "".join(f'[[clusters]]\nname = "{NAMES[i]}"\n' for i in range(n))


@pytest.mark.parametrize("text,shard", [("1/1", Shard(1, 1)), (" 2 / 5 ", Shard(2, 5))])
def test_parse(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize(
    "text,message",
    [
        ("2", 'expected "K/N"'),
        ("0/3", "shard number must be 1..3, got 0"),
        ("4/3", "shard number must be 1..3, got 4"),
        ("1/0", "count must be 1..1024, got 0"),
        ("1/5000", "count must be 1..1024, got 5000"),
    ],
)
def test_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shard(text)


def test_ten_thousand_clusters_over_ten_shards_are_within_twelve_percent_of_even() -> None:
    sizes = [0] * 10
    for name in NAMES:
        sizes[owner(name, 10) - 1] += 1
    assert min(sizes) >= 880 and max(sizes) <= 1120, sizes  # binomial: sd 30


@given(names, st.integers(1, 40))
def test_each_cluster_has_exactly_one_shard(cluster_names: list[str], count: int) -> None:
    for name in cluster_names:
        assert [k for k in range(1, count + 1) if Shard(k, count).owns(name)] == [
            owner(name, count)
        ]


@given(names, st.integers(1, 40))
def test_one_more_shard_moves_clusters_only_to_the_new_shard(
    cluster_names: list[str], count: int
) -> None:
    for name in cluster_names:
        after = owner(name, count + 1)
        assert after in (owner(name, count), count + 1)


def test_growing_from_ten_to_eleven_moves_about_one_eleventh() -> None:
    moved = sum(owner(name, 10) != owner(name, 11) for name in NAMES)
    assert 0.07 < moved / len(NAMES) < 0.11


def test_the_config_keeps_the_shards_clusters_and_the_shards_cover_the_fleet() -> None:
    seen: list[str] = []
    for k in range(1, 4):
        config = parse_config(fleet(f"{k}/3"), "fleet.toml")
        assert config.fleet_size == 12 and config.monitor.shard == Shard(k, 3)
        seen += [c.name for c in config.clusters]
    assert sorted(seen) == NAMES[:12]
    whole = parse_config(fleet(None), "fleet.toml")
    assert [c.name for c in whole.clusters] == NAMES[:12] and whole.monitor.shard is None


def test_a_shard_that_owns_nothing_is_an_error_naming_the_line() -> None:
    empty = next(k for k in range(1, 9) if not Shard(k, 8).owns(NAMES[0]))
    with pytest.raises(ConfigError) as err:
        parse_config(fleet(f"{empty}/8", n=1), "fleet.toml")
    assert err.value.problems == [
        f"fleet.toml:2: monitor.shard: shard {empty}/8 owns none of the 1 cluster(s): "
        "use fewer shards"
    ]


def test_a_bad_shard_is_an_error_naming_the_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(fleet("3"), "fleet.toml")
    assert err.value.problems[0].startswith('fleet.toml:2: monitor.shard: expected "K/N"')


def test_check_config_says_the_shard(tmp_path, capsys) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(fleet("1/3"))
    owned = len(parse_config(fleet("1/3")).clusters)
    assert main(["check-config", str(path)]) == 0
    assert f"OK ({owned} of 12 cluster(s) in shard 1/3," in capsys.readouterr().out


def test_the_shard_metrics() -> None:
    config = parse_config(fleet("2/3"), "fleet.toml")
    registry = CollectorRegistry()
    registry.register(ShardCollector(lambda: config))
    text = generate_latest(registry).decode()
    assert 'slurm_sla_monitor_shard_info{shard="2",shards="3"} 1.0' in text
    assert f'slurm_sla_monitor_shard_clusters{{shard="2"}} {len(config.clusters)}.0' in text
    assert "slurm_sla_monitor_fleet_clusters 12.0" in text
    whole = parse_config(fleet(None), "fleet.toml")
    plain = CollectorRegistry()
    plain.register(ShardCollector(lambda: whole))
    assert generate_latest(plain) == b""
