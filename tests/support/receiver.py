"""Webhook receivers for tests: one records every POST with the time it arrived; a scripted
one also answers each request as told (status, headers, delay), to test retries and timeouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(ThreadingHTTPServer):
    """Answers 200 to every POST and keeps ``{"path", "body", "received"}`` for each."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def on(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append(
                {"path": self.path, "body": body, "received": time.time()}
            )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def wait_until(check: Callable[[], object], timeout: float = 15.0, what: str = "") -> object:
    """``check()`` once it is truthy, polled every 50 ms; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


class ScriptedRecorder(ThreadingHTTPServer):
    """Records every POST; answers from ``script`` ((status, headers, delay) per request),
    then 200."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, float]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _ScriptedHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_answer(self) -> tuple[int, dict, float]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {}, 0.0)

    def on(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def wait_for(self, n: int, path: str | None = None, timeout: float = 15.0) -> list[dict]:
        def enough():
            got = self.on(path) if path else self.requests
            return got if len(got) >= n else None

        return wait_until(enough, timeout, f"{n} request(s) on {path or 'any path'}")  # type: ignore[return-value]

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedRecorder

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code, headers, delay = self.server.next_answer()
        with self.server.lock:
            self.server.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "at": time.monotonic(),
                    "answered": code,
                    "late": delay,
                }
            )
        if delay:
            time.sleep(delay)
        try:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the client gave up (timeout test)

    def log_message(self, *args: object) -> None:
        pass
