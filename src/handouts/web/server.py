"""Start the counter page with uvicorn: loopback only unless --allow-remote.

The port is taken before the workers warm up (a port in use is one line at once, not
after a minute of warming), and a connection has HEADER_TIMEOUT seconds to send a
request's headers (the app gives the body its own deadline), so a client trickling
bytes cannot hold a connection for long."""

from __future__ import annotations

import copy
import errno
import ipaddress
import os
import re
import socket
import sys
from typing import TYPE_CHECKING

from handouts.errors import HandoutsError

if TYPE_CHECKING:
    import asyncio

HEADER_TIMEOUT = 10.0       # seconds from connecting (or the last response) to complete headers
MAX_CONNECTIONS = 256       # open connections (uvicorn answers 503 beyond); slow ones time out


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def log_config() -> dict:
    """uvicorn's logging, with query strings dropped from the access log (personal data
    only ever travels in POST bodies, but a mistyped URL must not land in a log)."""
    from uvicorn.config import LOGGING_CONFIG
    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg.setdefault("filters", {})["no_query"] = {"()": "handouts.web.app.AccessLogFilter"}
    cfg["handlers"]["access"]["filters"] = ["no_query"]
    return cfg


def check_host(host: str, allow_remote: bool) -> bool:
    """True when the page will be reachable from other machines (after the explicit flag)."""
    if is_loopback(host):
        return False
    if not allow_remote:
        raise HandoutsError("server.not_loopback", "host", {"host": host})
    return True


def check_record(record: bool, record_db: str | None) -> str | None:
    """The print record the counter keeps (opened once here: a record or key file it
    cannot use is one line and exit code 2, before any worker starts), or None."""
    from handouts import content
    from handouts.records.recorder import Recorder
    from handouts.request import record_target
    target = record_target(record, record_db)
    if target is not None:
        with Recorder.open(target, "counter", content.default()):
            pass
    return target


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address of `host` (not yet listening: uvicorn starts
    that once the workers are warm), or one line naming --port or --host."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise HandoutsError("server.not_an_address", "host", {"host": host}) from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise HandoutsError("server.port_in_use", "port", {"port": port, "host": host}) from None
        raise HandoutsError("server.cannot_listen", "host", {"host": host, "port": port,
                                                              "reason": exc.strerror or exc}) from None
    return sockets


def timed_protocol(header_timeout: float = HEADER_TIMEOUT) -> type:
    """uvicorn's HTTP/1.1 protocol with a deadline for request headers. uvicorn itself
    waits forever for a new connection's first request, and its keep-alive timer is
    reset by every byte, so one byte now and then would hold a connection open."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._headers_timer: asyncio.TimerHandle | None = None
            self._arm()

        def _arm(self) -> None:
            """Until a new request's headers are complete (a new cycle starts)."""
            self._disarm()
            self._waiting_since = self.cycle
            self._headers_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._headers_timer is not None:
                self._headers_timer.cancel()
                self._headers_timer = None

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._waiting_since:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _too_slow(self) -> None:
            self._headers_timer = None
            if self.transport.is_closing() or self.cycle is not self._waiting_since:
                return           # closed meanwhile, or a request's headers came in time
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                                 b"content-length: 0\r\nconnection: close\r\n\r\n")
            self.transport.close()

    return TimedH11Protocol


def config(app, host: str, port: int, header_timeout: float = HEADER_TIMEOUT):
    """The uvicorn configuration of `handouts serve` (tests run the same one)."""
    import uvicorn
    return uvicorn.Config(app, host=host, port=port, log_config=log_config(), server_header=False,
                          proxy_headers=False, limit_concurrency=MAX_CONNECTIONS, timeout_keep_alive=5,
                          http=timed_protocol(header_timeout), ws="none", lifespan="on")


def default_counter_workers() -> int:
    """Two warm workers for the counter where there are two cores: a second patient (or a
    card and a handout asked for together) is made beside the first instead of behind it.
    Each worker holds its own fonts and layouts in memory (a few hundred MB)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def serve(host: str = "127.0.0.1", port: int = 8000, allow_remote: bool = False, workers: int = 0, *,
          paper: str | None = None, region: str | None = None, file_names: str = "initials",
          record: bool = False, record_db: str | None = None, counter_workers: int | None = None) -> None:
    remote = check_host(host, allow_remote)
    import uvicorn

    from . import core, i18n
    from .app import LOOPBACK_HOSTS, create_app
    if region is not None and not re.fullmatch(r"[A-Za-z]{2}", region):
        raise HandoutsError("region.format", "region", {"value": region})
    settings = core.settings_for(paper, region, file_names=file_names)
    for code in core.locale_codes():     # a bad catalog stops here, with one line naming it
        i18n.translations(code)
    target = check_record(record, record_db)  # so does a print record the counter cannot use
    sockets = bind(host, port)           # a port in use stops here, before any worker starts
    if remote:
        print(f"handouts: WARNING: serving on {host}: anyone who can reach this machine on port {port} "
              "can use the page and see what it renders; there is no login and no encryption (HTTP). "
              "Use it only on a trusted network.", file=sys.stderr)
    app = create_app(workers, warm=True, allowed_hosts=None if remote else LOOPBACK_HOSTS, settings=settings,
                     record=target, counter_workers=counter_workers or default_counter_workers())
    where = f"region {settings.region}" if settings.region else "no region set (--region or --paper)"
    print(f"handouts: paper {settings.paper} and card sheets {settings.sheet} ({'--paper' if paper else where}); "
          f"lists' dates {settings.date_order or 'in the order of their language'}; file names by "
          f"{'initials' if settings.file_names == 'initials' else 'full name'}", file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    print(f"handouts: starting the workers for the counter page at {url} (Ctrl+C to stop)",
          file=sys.stderr, flush=True)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            if self.started:     # uvicorn says nothing when it is given its sockets
                print(f"handouts: the counter page is ready at {url}", file=sys.stderr, flush=True)

    try:
        Server(config(app, host, port)).run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
