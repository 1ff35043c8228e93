"""The counter page's real server for tests: `handouts serve`'s uvicorn configuration on
a free loopback port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(app, port: int | None = None, **config) -> Iterator[str]:
    """The server's URL while it runs (its workers warm); stopped on leaving."""
    import uvicorn

    from handouts.web import server
    port = port or free_port()
    srv = uvicorn.Server(server.config(app, "127.0.0.1", port, **config))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=120)



@contextlib.contextmanager
def counter_page(workers: int) -> Iterator[str]:
    """`handouts serve`'s app with `workers` render workers (not warmed: the tests that
    need a warm worker wait for it), running on a free loopback port."""
    from handouts.web.app import create_app
    with running(create_app(workers_count=workers, warm=False)) as url:
        yield url

def die_once(folder: str, times: int) -> int:
    """Run in a worker: kill this worker the first `times` calls (counted as files in
    `folder`), then answer with its pid."""
    os.makedirs(folder, exist_ok=True)
    calls = len(os.listdir(folder))
    if calls < times:
        open(os.path.join(folder, str(calls)), "w").close()
        os._exit(1)
    return os.getpid()


def warm_first_fast(render: bool, parent: int, nice: int, scratch_dir: str, start) -> None:
    """A worker initializer: the pool's first worker warms up at once, every other one
    takes SLOW_WARM_UP seconds (told apart by a file made in the pool's own folder)."""
    from handouts.web import workers
    workers._warm(False, parent, nice, scratch_dir, start)
    try:
        os.close(os.open(os.path.join(scratch_dir, "first-warm"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        time.sleep(SLOW_WARM_UP)


SLOW_WARM_UP = 3.0
