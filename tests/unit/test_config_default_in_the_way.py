"""A short interval_seconds collides with defaults the file never set (jitter 1 s, confirm
1 s): the error says the default is in the way, not only a key the user never wrote."""

from __future__ import annotations

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError

BASE = '[monitor]\ninterval_seconds = {interval}\n{extra}[[clusters]]\nname = "a"\n'


def problems(tmp_path, interval: str, extra: str = "") -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text(BASE.format(interval=interval, extra=extra))
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return exc.value.problems


def test_an_unset_default_in_the_way_is_named_as_a_default(tmp_path):
    got = problems(tmp_path, "0.5")
    assert any(
        "monitor.jitter_seconds: must be smaller than interval_seconds (not set here: its "
        "default 1 applies; set jitter_seconds lower)" in p
        for p in got
    )
    assert any("confirm_interval_seconds" in p and "its default 1 applies" in p for p in got)


def test_a_value_the_file_sets_is_not_called_a_default(tmp_path):
    (problem,) = problems(tmp_path, "1", "jitter_seconds = 2\n")
    assert problem.endswith("monitor.jitter_seconds: must be smaller than interval_seconds")
