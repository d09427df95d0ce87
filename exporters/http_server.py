"""A small HTTP/1.1 server that a few slow or idle clients cannot stall.

``http.server`` runs the TLS handshake in its one accept thread (an idle TCP connection then
blocks everyone) and gives each connection a thread with no deadline (45 slow clients, 55
threads). Here one asyncio thread owns every socket: the TLS handshake, the request head and
the body are read without blocking and under deadlines, and only a complete request reaches
the small, fixed pool of worker threads that renders the answer. Connections are capped;
when the cap is reached the oldest connection that is not being served (idle, handshaking or
dawdling over its headers) makes room, and when every connection is being served the newcomer
is refused. Thread count: one event-loop thread plus ``Limits.workers``, whatever the clients
do.

Why not a server library: waitress has no TLS; cheroot handshakes in its accept path too;
uvicorn/hypercorn need an ASGI stack. asyncio's non-blocking TLS with
``ssl_handshake_timeout`` is the piece that matters, and it is in the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus

import structlog

log = structlog.get_logger("slurm_sla_monitor")

_GOODBYE_SECONDS = 1.0
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class Limits:
    max_connections: int = 256  # open connections, handshakes included
    workers: int = 4  # threads that render answers
    handshake_timeout: float = 5.0  # accept -> TLS established
    header_timeout: float = 10.0  # first byte of a request -> its complete head (and body)
    idle_timeout: float = 120.0  # a kept-alive connection between requests
    write_timeout: float = 10.0  # a response's bytes handed to the kernel
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 64 * 1024  # GET bodies are read and ignored up to this size


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str
    headers: Message  # case-insensitive .get()

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Response]  # runs in a worker thread
# Runs on the event loop: an answer that needs no waiting (bytes already made), or None
# for the workers. Must not block: every connection waits while it runs.
QuickHandler = Callable[[Request], Response | None]


class _Connection:
    __slots__ = ("busy", "sock", "task")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.busy = False  # a request is being answered: not to be evicted
        self.task: asyncio.Task[None] | None = None


class HttpServer:
    """``start`` returns at once; ``stop`` closes every connection and waits for the loop.
    ``tls`` may be replaced while running: it applies to connections accepted after."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        *,
        tls: ssl.SSLContext | None = None,
        limits: Limits | None = None,
        quick: QuickHandler | None = None,
    ) -> None:
        self.tls = tls
        self.limits = limits or Limits()
        self.refused = 0  # connections closed at once: every slot was answering a request
        self.evicted = 0  # waiting connections closed to make room for a new one
        self.timed_out = 0  # connections closed at a deadline (handshake, head, idle, write)
        self._handler = handler
        self._quick = quick
        self._sock = _listen(host, port)
        self._loop = asyncio.new_event_loop()
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._pool = ThreadPoolExecutor(self.limits.workers, thread_name_prefix="http-worker")
        self._connections: dict[_Connection, None] = {}  # insertion order: oldest first
        self._thread = threading.Thread(target=self._run, name="http-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._finish)
            self._thread.join(timeout=5)
        elif self._thread.ident is None:  # never started: the loop is ours to close
            self._loop.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._sock.close()

    def _finish(self) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.set_exception_handler(_log_loop_error)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        accept = asyncio.create_task(self._accept())
        await self._done
        accept.cancel()
        tasks = [c.task for c in self._connections if c.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(accept, *tasks, return_exceptions=True)

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(self._sock)
            except OSError as exc:  # e.g. out of file descriptors: back off, do not spin
                log.warning("http.accept_failed", error=exc.strerror or str(exc))
                await asyncio.sleep(0.1)
                continue
            if not self._make_room():
                self.refused += 1
                sock.close()
                continue
            # One write per response; without this a TLS record split across two writes
            # waits for the client's delayed ACK (the ~40 ms HTTPS took under http.server).
            with contextlib.suppress(OSError):  # a peer gone already fails later, quietly
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock)
            self._connections[connection] = None
            connection.task = loop.create_task(self._serve_connection(connection))

    def _make_room(self) -> bool:
        if len(self._connections) < self.limits.max_connections:
            return True
        for connection in self._connections:
            if not connection.busy and connection.task is not None:
                connection.task.cancel()
                del self._connections[connection]
                self.evicted += 1
                return True
        return False

    async def _serve_connection(self, connection: _Connection) -> None:
        writer: asyncio.StreamWriter | None = None
        clean = False
        try:
            reader, writer = await self._open(connection.sock)
            first = True
            while True:
                request = await self._read_request(reader, first)
                first = False
                if request is None:
                    return
                connection.busy = True
                if isinstance(request, Response):  # the client broke the protocol
                    await self._write(writer, request, head_only=False, close=True)
                    clean = True
                    return
                response = self._answer_quick(request)
                quick = response is not None
                if response is None:
                    response = await asyncio.get_running_loop().run_in_executor(
                        self._pool, self._answer, request
                    )
                keep = _keep_alive(request)
                await self._write(writer, response, request.method == "HEAD", close=not keep)
                connection.busy = False
                if not keep:
                    clean = True
                    return
                if quick:
                    # A quick answer awaits nothing that suspends while the client's next
                    # requests are buffered: a client pipelining scrapes held the loop for
                    # all of them (256 KiB at a time: /healthz waited 2 s). One turn each,
                    # after the write: before it, every answer waited for the others' turns.
                    await asyncio.sleep(0)
        except TimeoutError:
            self.timed_out += 1
        except (OSError, EOFError, asyncio.IncompleteReadError):
            pass  # gone, or not speaking TLS: nothing to answer, nobody to tell
        except Exception:  # a bug here must cost one connection, logged, never the server
            log.exception("http.connection_failed")
        finally:
            # counted (and evictable) until its socket is closed, TLS goodbye included
            connection.busy = False
            try:
                if writer is None:
                    connection.sock.close()
                else:
                    await _close(writer, clean)
            finally:
                self._connections.pop(connection, None)

    async def _open(self, sock: socket.socket) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self.limits.max_header_bytes)
        protocol = asyncio.StreamReaderProtocol(reader)
        context = self.tls
        async with asyncio.timeout(self.limits.handshake_timeout):
            if context is None:
                transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock)
            else:
                transport, _ = await loop.connect_accepted_socket(
                    lambda: protocol,
                    sock,
                    ssl=context,
                    # asyncio's own deadline only as a backstop: ours, above, counts it
                    ssl_handshake_timeout=self.limits.handshake_timeout + 1,
                    ssl_shutdown_timeout=self.limits.write_timeout,
                )
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _read_request(
        self, reader: asyncio.StreamReader, first: bool
    ) -> Request | Response | None:
        """The next request; a Response for a protocol error; None when the client left or
        stayed silent past its deadline."""
        limits = self.limits
        try:
            async with asyncio.timeout(limits.header_timeout if first else limits.idle_timeout):
                start = await reader.readexactly(1)
        except asyncio.IncompleteReadError:
            return None
        except TimeoutError:
            self.timed_out += 1
            return None
        async with asyncio.timeout(limits.header_timeout):
            try:
                head = start + await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                return _error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            request = parse_head(head.lstrip(b"\r\n"))
            if isinstance(request, Response):
                return request
            problem = await self._skip_body(reader, request.headers)
        return problem or request

    async def _skip_body(self, reader: asyncio.StreamReader, headers: Message) -> Response | None:
        if headers.get("Transfer-Encoding") is not None:
            return _error(HTTPStatus.NOT_IMPLEMENTED)  # no request of ours has a body
        lengths = headers.get_all("Content-Length") or []
        if not lengths:
            return None
        if len(lengths) > 1 or not lengths[0].strip().isdigit():
            return _error(HTTPStatus.BAD_REQUEST)
        digits = lengths[0].strip()
        if len(digits) > 18 or int(digits) > self.limits.max_body_bytes:
            return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        await reader.readexactly(int(digits))
        return None

    def _answer_quick(self, request: Request) -> Response | None:
        if self._quick is None:
            return None
        try:
            return self._quick(request)
        except Exception:  # a bug there costs the fast path, not the answer
            log.exception("http.quick_handler_failed", path=request.path)
            return None

    def _answer(self, request: Request) -> Response:
        try:
            return self._handler(request)
        except Exception:  # a bug in a handler must not take the connection down silently
            log.exception("http.handler_failed", path=request.path)
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR)

    async def _write(
        self, writer: asyncio.StreamWriter, response: Response, head_only: bool, close: bool
    ) -> None:
        if head_only or len(response.body) <= _SLICE:
            writer.write(serialize(response, head_only=head_only, close=close))
            async with asyncio.timeout(self.limits.write_timeout):
                await writer.drain()
            return
        # A large body (/metrics at 1,000 clusters: 20 MB) in slices: written whole, it was
        # copied twice, head + body and then into the transport's buffer (Python 3.11), so
        # each plain scrape held 40 MB more; in slices the buffer holds about one slice.
        body = memoryview(response.body)
        async with asyncio.timeout(self.limits.write_timeout):
            writer.write(serialize(response, head_only=True, close=close) + body[:_SLICE])
            for start in range(_SLICE, len(body), _SLICE):
                await writer.drain()
                writer.write(body[start : start + _SLICE])
            await writer.drain()


async def _close(writer: asyncio.StreamWriter, clean: bool) -> None:
    """A clean close lets TLS say goodbye (close_notify) for up to a second; anything else,
    a peer that does not answer, or an eviction meanwhile, is cut at once."""
    try:
        if clean:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_GOODBYE_SECONDS):
                    await writer.wait_closed()
    finally:
        writer.transport.abort()


def parse_head(head: bytes) -> Request | Response:
    """A request line and headers (ending in a blank line), or the error to answer."""
    line, _, rest = head.partition(b"\r\n")
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3:
        return _error(HTTPStatus.BAD_REQUEST)
    method, target, version = parts
    if not _TOKEN.fullmatch(method) or not target.startswith(("/", "*")):
        return _error(HTTPStatus.BAD_REQUEST)
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        if version.startswith("HTTP/"):
            return _error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
        return _error(HTTPStatus.BAD_REQUEST)
    try:
        headers = http.client.parse_headers(io.BytesIO(rest))
    except http.client.HTTPException:  # over 100 headers or a line over 64 KiB
        return _error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
    if headers.defects or headers.get_payload():
        # A line that is not "name: value" ends the email parser's headers and the rest
        # would be dropped unseen (Authorization, Connection, Content-Length: a body then
        # read as the next request). RFC 9112 says 400.
        return _error(HTTPStatus.BAD_REQUEST)
    return Request(method, target, version, headers)


_SLICE = 1 << 20  # bytes of a large body handed to the transport at a time


def serialize(response: Response, *, head_only: bool, close: bool) -> bytes:
    """Status line, headers and body in one buffer, written with one call."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        "Server: slurm-sla-monitor",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        *(f"{name}: {value}" for name, value in response.headers),
    ]
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


def _keep_alive(request: Request) -> bool:
    if request.version == "HTTP/1.0":
        return False  # keep-alive for 1.0 clients is not worth its rules; they reconnect
    tokens = {t.strip().lower() for t in (request.headers.get("Connection") or "").split(",")}
    return "close" not in tokens


def _error(status: HTTPStatus) -> Response:
    return Response(int(status), f"{status.phrase}\n".encode())


def _listen(host: str, port: int) -> socket.socket:
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server(
            (host, port), family=family, backlog=128, dualstack_ipv6=host == "::"
        )
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {reason}") from exc
    sock.setblocking(False)
    return sock


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    # asyncio would print its own unstructured lines; ours are JSON under systemd
    log.warning(
        "http.loop_error", message=context.get("message"), error=repr(context.get("exception"))
    )
