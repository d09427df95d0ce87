"""A real Prometheus (Debian's ``prometheus`` package) for integration tests.

    with Prometheus(["127.0.0.1:9817"], rule_files=[...], scrape_interval="1s") as prom:
        prom.wait_until(lambda: prom.query("up") or None, timeout=30, what="a scrape")
        prom.query('slurm_service_up{cluster="lab"}')        # -> [{"metric": ..., "value": ...}]
        prom.alerts()                                         # -> [{"labels", "state", ...}]

It listens on a free 127.0.0.1 port with its config and TSDB in a temporary directory,
scrapes the given ``host:port`` targets in one job (``job``, "slurm-sla-monitor" by default,
the name of alert_rules/README.md's example; the rules work with any), evaluates
``rule_files`` every ``evaluation_interval``, and is stopped (and its directory removed) on
``stop()`` or leaving the ``with`` block. A failed query raises :class:`PrometheusError`
with Prometheus's own message; a Prometheus that exits or never gets ready raises it with
the tail of its log.

The query helpers return the ``data`` of the API answer, unwrapped:
``query`` / ``query_range`` → ``data.result`` (a list), ``alerts`` → ``data.alerts``,
``rules`` → ``data.groups``, ``targets`` → ``data.activeTargets``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

from tests.support.daemon import free_port
from tests.support.debian import ensure_packages

T = TypeVar("T")

DEFAULT_JOB = "slurm-sla-monitor"


class PrometheusError(RuntimeError):
    """Prometheus did not start, or answered an API call with an error."""


class Prometheus:
    def __init__(
        self,
        targets: Sequence[str],
        *,
        rule_files: Sequence[Path | str] = (),
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        job: str = DEFAULT_JOB,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        """``extra_config``: more top-level prometheus.yml keys (e.g. ``alerting``)."""
        self.scrape_targets = list(targets)
        self.rule_files = [Path(f).resolve() for f in rule_files]
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.job = job
        self.extra_config = dict(extra_config or {})
        self.port: int | None = None
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise PrometheusError("Prometheus is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Prometheus:
        """Start and wait until ``/-/ready``; installs the package if it is missing."""
        ensure_packages("prometheus", binary="prometheus")
        self._dir = Path(tempfile.mkdtemp(prefix="test-prometheus-"))
        config = self._dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        for attempt in range(3):  # the free port can be taken between probe and bind
            self.port = free_port()
            log = (self._dir / "prometheus.log").open("ab")
            self._proc = subprocess.Popen(
                [
                    shutil.which("prometheus") or "/usr/bin/prometheus",
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self._dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--log.level=info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            try:
                self._wait_ready(timeout)
                return self
            except PrometheusError:
                exited = self._proc.poll() is not None
                self._terminate()
                if not exited or attempt == 2 or "address already in use" not in self.log():
                    self.stop()
                    raise
        raise AssertionError("unreachable")

    def config(self) -> dict[str, Any]:
        """The prometheus.yml this instance runs with."""
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "rule_files": [str(f) for f in self.rule_files],
            "scrape_configs": [
                {"job_name": self.job, "static_configs": [{"targets": self.scrape_targets}]}
            ],
        }
        config.update(self.extra_config)
        return config

    def stop(self) -> None:
        """Stop Prometheus and remove its directory; safe to call twice."""
        self._terminate()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._session.close()

    def log(self) -> str:
        """Prometheus's own log so far (for failure messages)."""
        path = self._dir / "prometheus.log" if self._dir else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the HTTP API --------------------------------------------------------------------
    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """``/api/v1/query``: the instant vector (or scalar/string) at ``at`` (default now)."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        return self._get("/api/v1/query", params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """``/api/v1/query_range``: matrices, each with ``values`` [[t, "v"], ...]."""
        params = {"query": expr, "start": start, "end": end, "step": step}
        return self._get("/api/v1/query_range", params)["result"]

    def alerts(self) -> list[dict[str, Any]]:
        """``/api/v1/alerts``: pending and firing alerts (``labels``, ``state``, ...)."""
        return self._get("/api/v1/alerts")["alerts"]

    def rules(self, kind: str | None = None) -> list[dict[str, Any]]:
        """``/api/v1/rules``: rule groups; ``kind`` "alert" or "record" filters them."""
        return self._get("/api/v1/rules", {"type": kind} if kind else None)["groups"]

    def targets(self) -> list[dict[str, Any]]:
        """``/api/v1/targets``: the active targets (``health``, ``lastError``, ...)."""
        return self._get("/api/v1/targets", {"state": "active"})["activeTargets"]

    def wait_until(
        self, check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5
    ) -> T:
        """Poll ``check`` until it returns something truthy; return that, or fail naming
        ``what`` after ``timeout`` seconds (with the last API error, if any)."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            try:
                value = check()
                if value:
                    return value
            except (PrometheusError, requests.RequestException) as exc:
                last_error = f" (last error: {exc})"
            if time.monotonic() >= deadline:
                raise PrometheusError(
                    f"timed out after {timeout:g}s waiting for {what}{last_error}"
                )
            time.sleep(interval)

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self._session.get(self.url + path, params=params, timeout=10)
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"{path}: HTTP {response.status_code}: {response.text[:200]}"
            ) from None
        if body.get("status") != "success":
            raise PrometheusError(
                f"{path} {dict(params or {})}: {body.get('errorType')}: {body.get('error')}"
            )
        return body["data"]

    # -- internals -----------------------------------------------------------------------
    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PrometheusError(
                    f"prometheus exited with {self._proc.returncode}:\n{self.log()[-2000:]}"
                )
            try:
                if self._session.get(self.url + "/-/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise PrometheusError(f"prometheus not ready after {timeout:g}s:\n{self.log()[-2000:]}")

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: only what we started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


