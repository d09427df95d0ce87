"""A simulated slurmrestd for ``slurm-sla demo --backend rest`` and the fleet benchmark:
real HTTP/1.1 (keep-alive), answering from JSON recorded on a real Slurm 26.05 HA cluster
(``scontrol ping --json`` is what ``/slurm/vX/ping`` answers, ``sdiag --json`` what
``/slurm/vX/diag`` answers, ``sacctmgr ping --json`` what ``/slurmdb/vX/ping`` answers).

One server can stand for many clusters: ``/CLUSTER/slurm/...`` answers for CLUSTER, whose
situation comes from the caller; a path without the prefix is the default cluster. A
situation where the monitor's own credentials fail (``munge_ok = False``) is, through
REST, a rejected token: 401.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from monitor.simulator.situations import SITUATIONS

REST_VERSION = "26.05"  # the release whose JSON is replayed
DATA_PARSER = "v0.0.45"
# endpoint -> the fixture kind recorded from the matching command's --json form
ENDPOINTS = {
    ("slurm", "ping"): "ping",
    ("slurm", "diag"): "sdiag",
    ("slurmdb", "ping"): "sacctmgr-ping",
    ("slurmdb", "diag"): "sacctmgr-stats",
}
TOKEN = "simulated-token"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


def rest_recordings(recordings: Path) -> dict[tuple[str, str, str], _Answer]:
    """(situation, api, endpoint) -> the recorded answer, loaded once."""
    out: dict[tuple[str, str, str], _Answer] = {}
    for name, situation in SITUATIONS.items():
        for (api, endpoint), kind in ENDPOINTS.items():
            base = recordings / kind / f"{REST_VERSION}-{situation.recording}-json"
            path = base.with_name(base.name + ".json")
            if not path.exists():
                continue
            meta = json.loads(base.with_name(base.name + ".meta.json").read_text())
            # A command that failed (no controller, no slurmdbd) is an error answer from
            # slurmrestd, with Slurm's own errors in the same document.
            status = 200 if meta.get("returncode") == 0 else 500
            out[(name, api, endpoint)] = _Answer(status, path.read_bytes())
    return out


class SimulatedRestd:
    def __init__(
        self,
        recordings: Path,
        situation_of: Callable[[str], str],
        *,
        token: str = TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._answers = rest_recordings(recordings)
        self._situation_of = situation_of
        self._token = token
        restd = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the monitor reuses connections
            # Headers and body leave in two writes: with Nagle on, the body waits for the
            # client's delayed ACK (~40 ms a request on keep-alive connections), which
            # capped the fleet benchmark near 180 requests/s, below what 1,000 clusters ask.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                answer = restd.answer(self.path, self.headers.get("X-SLURM-USER-TOKEN"))
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> SimulatedRestd:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, token: str | None) -> _Answer:
        parts = path.split("?")[0].strip("/").split("/")
        cluster = ""
        if parts and parts[0] not in ("slurm", "slurmdb", "openapi"):
            cluster, parts = parts[0], parts[1:]
        situation = self._situation_of(cluster)
        if token != self._token or not SITUATIONS[situation].munge_ok:
            return _error(401, "Authentication failure")
        if parts == ["openapi", "v3"]:
            paths = {f"/{a}/{DATA_PARSER}/{e}": {} for a, e in ENDPOINTS}
            return _Answer(200, json.dumps({"openapi": "3.0.3", "paths": paths}).encode())
        if len(parts) != 3 or parts[1] != DATA_PARSER:
            return _error(404, "Unable to find the requested path")
        found = self._answers.get((situation, parts[0], parts[2]))
        return found or _error(404, f"no recording for {situation}")


def _error(status: int, text: str) -> _Answer:
    return _Answer(status, json.dumps({"errors": [{"description": text}]}).encode())


def main() -> None:
    """``python -m monitor.simulator.restd --port N``: every cluster healthy, until killed
    (the fleet benchmark runs it in its own process, off the monitor's core)."""
    import argparse

    from monitor.simulator.cluster import recordings_dir

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--situation", default="healthy", choices=sorted(SITUATIONS))
    args = ap.parse_args()
    restd = SimulatedRestd(recordings_dir(), lambda _: args.situation, port=args.port)
    print(restd.url, flush=True)
    restd.server.serve_forever()


if __name__ == "__main__":
    main()
