"""A stand-in slurmrestd on loopback for unit tests: real HTTP, answers from JSON recorded
from real Slurm (``scontrol ping --json`` is what ``/slurm/vX/ping`` answers). A test sets
what each path answers, which token is valid, and can stop it answering."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def recorded_json(kind: str, name: str) -> str:
    return (FIXTURES / kind / name).read_text()


@dataclass
class Behaviour:
    token: str = "good-token"
    versions: tuple[str, ...] = ("v0.0.41", "v0.0.42")
    openapi: bool = True  # serve /openapi/v3
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)  # endpoint -> answer
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class FakeSlurmrestd:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        behaviour = self.behaviour

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                behaviour.requests.append((self.path, dict(self.headers)))
                status, body = self._answer()
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self) -> tuple[int, str]:
                if self.headers.get("X-SLURM-USER-TOKEN") != behaviour.token:
                    return 401, json.dumps({"errors": [{"description": "Authentication failure"}]})
                if self.path == "/openapi/v3":
                    if not behaviour.openapi:
                        return 404, ""
                    paths = {
                        f"/{api}/{v}/{ep}": {}
                        for v in behaviour.versions
                        for api, ep in (("slurm", "ping"), ("slurm", "diag"), ("slurmdb", "diag"))
                    }
                    return 200, json.dumps({"openapi": "3.0.2", "paths": paths})
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[1] not in behaviour.versions:
                    return 404, json.dumps(
                        {"errors": [{"description": "Unable find requested URL"}]}
                    )
                return behaviour.answers.get(f"{parts[0]}/{parts[2]}", (404, "{}"))

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, endpoint: str, status: int, body: str) -> None:
        self.behaviour.answers[endpoint] = (status, body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
