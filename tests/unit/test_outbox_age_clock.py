"""slurm_sla_alert_outbox_oldest_age_seconds is measured on the clock the outbox's times
come from. It used the wall clock against the monitor's times, so after a wall-clock step
back of an hour every age read 0 (clamped) for that hour, and the rule on a stuck outbox
(age > 600 s) could not fire."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from monitor.alerting.status import AlertingStatus, ReceiverStatus
from monitor.config import load_config
from monitor.service import Service
from tests.support.daemon import free_port


def _age(registry) -> float:
    for family in registry.collect():
        for s in family.samples:
            if s.name == "slurm_sla_alert_outbox_oldest_age_seconds":
                return s.value
    raise AssertionError("no outbox age exported")


def test_the_outbox_age_survives_a_wall_clock_step_back(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[monitor]\nlisten = "127.0.0.1:{free_port()}"\nstate_dir = "{tmp_path / "s"}"\n'
        '[[clusters]]\nname = "a"\nslurm_bin = "/nonexistent"\n'
    )
    svc = Service(path, load_config(path))
    try:
        # the state a step back of an hour leaves: the monitor's clock an hour ahead of the
        # wall clock (it does not follow a step back), its times recorded on it
        svc.clock._anchor_wall += 3600  # noqa: SLF001
        svc.clock._behind = 3600  # noqa: SLF001
        queued_at = svc.clock() - dt.timedelta(seconds=30)
        status = AlertingStatus(
            svc.clock(), (), {"oncall": ReceiverStatus(queued=1, oldest_queued_at=queued_at)}
        )
        svc.alerting._alerting = SimpleNamespace(status=lambda: status)  # noqa: SLF001
        assert 29 <= _age(svc.registry) <= 40
    finally:
        svc.lock.release()
