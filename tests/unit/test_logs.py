"""In JSON mode every line on the log stream is one JSON document: our events, and what
libraries log through the stdlib (APScheduler, asyncio, urllib3), warnings and crashes."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import warnings

import pytest
import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.logs import configure_logging


@pytest.fixture
def restore_logging():
    """configure_logging sets process-wide state: put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = logging.getLogger("slurm_sla_monitor").level
    config = structlog.get_config()
    hook = threading.excepthook
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("slurm_sla_monitor").setLevel(ours)
    structlog.configure(**config)
    threading.excepthook = hook
    logging.captureWarnings(False)


def lines(stream: io.StringIO) -> list[dict]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # fails on any non-JSON line


def test_our_events_and_library_records_are_json_with_event_level_logger(restore_logging):
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    structlog.get_logger("slurm_sla_monitor").info("probe.failed", cluster="prod", probe="ping")
    logging.getLogger("urllib3.connectionpool").warning("Retrying (%s) after %s", "Retry(2)", "x")
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        logging.getLogger("asyncio").exception("Exception in callback _accept()")
    got = lines(stream)
    assert [(g["event"], g["level"], g["logger"]) for g in got] == [
        ("probe.failed", "info", "slurm_sla_monitor"),
        ("Retrying (Retry(2)) after x", "warning", "urllib3.connectionpool"),
        ("Exception in callback _accept()", "error", "asyncio"),
    ]
    assert got[0]["cluster"] == "prod" and "timestamp" in got[0]
    assert got[2]["exception"].startswith("Traceback (most recent call last):")
    assert "ConnectionResetError: peer went away" in got[2]["exception"]


def test_apschedulers_skipped_run_warning_is_json(restore_logging):
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    release = threading.Event()
    scheduler = BackgroundScheduler(job_defaults={"max_instances": 1, "coalesce": True})
    scheduler.add_job(release.wait, "interval", seconds=0.05, args=[10])
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while "maximum number of running instances" not in stream.getvalue():
            assert time.monotonic() < deadline, stream.getvalue()
            time.sleep(0.02)
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    skipped = [g for g in lines(stream) if "maximum number of running instances" in g["event"]]
    assert skipped[0]["level"] == "warning"
    assert skipped[0]["logger"].startswith("apscheduler")
    # APScheduler's INFO chatter about every run stays out at the default level.
    assert not [g for g in lines(stream) if g["level"] == "info"]


def test_our_exceptions_warnings_and_thread_crashes_are_json(restore_logging):
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log = structlog.get_logger("slurm_sla_monitor")
    try:
        {}["missing"]
    except KeyError:
        log.exception("probe.round_crashed", cluster="prod")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old API", DeprecationWarning, stacklevel=1)

    def crash() -> None:
        raise RuntimeError("a bug in a worker")

    worker = threading.Thread(target=crash, name="probe_0")
    worker.start()
    worker.join()
    crashed, warned, thread = lines(stream)
    assert crashed["event"] == "probe.round_crashed" and crashed["level"] == "error"
    assert "KeyError: 'missing'" in crashed["exception"]
    assert warned["logger"] == "py.warnings" and "old API" in warned["event"]
    assert thread["event"] == "thread.crashed" and thread["thread"] == "probe_0"
    assert "RuntimeError: a bug in a worker" in thread["exception"]


def test_debug_is_off_by_default_and_on_when_asked(restore_logging):
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    structlog.get_logger("slurm_sla_monitor").debug("probe.finished")
    assert stream.getvalue() == ""
    configure_logging("json", level=logging.DEBUG, stream=stream)
    structlog.get_logger("slurm_sla_monitor").debug("probe.finished")
    assert [g["event"] for g in lines(stream)] == ["probe.finished"]


def test_configuring_again_replaces_the_handler(restore_logging):
    first, second = io.StringIO(), io.StringIO()
    configure_logging("json", stream=first)
    configure_logging("json", stream=second)
    logging.getLogger("apscheduler").warning("once")
    assert first.getvalue() == ""
    assert [g["event"] for g in lines(second)] == ["once"]


def test_console_mode_renders_library_records_readably(restore_logging):
    stream = io.StringIO()
    configure_logging("console", stream=stream)
    structlog.get_logger("slurm_sla_monitor").info("daemon.started", clusters=["prod"])
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    text = stream.getvalue()
    assert "daemon.started" in text and "clusters=['prod']" in text
    assert "Run time of job was missed" in text
    assert not text.lstrip().startswith("{")
