"""The HA demo's receiver: a webhook on loopback behind the Alertmanager pair that records
every notice it gets, with the moment it came, and prints each as a page or its end."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from monitor.demo_ha_story import Notice, notices_of


class RecordingPager:
    def __init__(self, out: TextIO, senders: dict[str, str] | None = None) -> None:
        pager = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"unreadable": body.decode("utf-8", "replace")}
                pager.record(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._out = out
        self._lock = threading.Lock()
        self._firing: set[str] = set()
        self.senders = senders if senders is not None else {}  # externalURL -> short name
        self.record_lines: list[dict[str, Any]] = []  # every POST: {"received", "payload"}
        self.notices: list[Notice] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> RecordingPager:
        self._thread.start()
        return self

    def record(self, payload: dict[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            self.record_lines.append({"received": now.isoformat(), "payload": payload})
            for n in notices_of(payload):
                self.notices.append(n)
                self._show(n, payload, now)

    def _show(self, n: Notice, payload: dict[str, Any], now: dt.datetime) -> None:
        again = n.status == "firing" and n.fingerprint in self._firing
        if n.status == "firing":
            self._firing.add(n.fingerprint)
        else:
            self._firing.discard(n.fingerprint)
        word = "DUPLICATE" if again else ("PAGE" if n.status == "firing" else "RESOLVED")
        summary = next(
            (
                a.get("annotations", {}).get("summary", "")
                for a in payload.get("alerts", [])
                if a.get("fingerprint") == n.fingerprint
            ),
            "",
        )
        print(
            f"  [{now:%H:%M:%S}] {word:9s} {n.alertname} service={n.service} "
            f"(from {self.senders.get(n.sender, n.sender)}): {summary}",
            file=self._out,
            flush=True,
        )

    def snapshot(self) -> list[Notice]:
        with self._lock:
            return list(self.notices)

    def write(self, path: Path) -> None:
        """The record, one JSON line per POST, for whoever checks the figures."""
        with self._lock:
            text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in self.record_lines)
        path.write_text(text)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
