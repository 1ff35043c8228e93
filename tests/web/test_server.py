"""`handouts serve` on a bad day, against the real server: uvicorn on a loopback port
with the same configuration as `handouts serve` (short timeouts), real worker processes
and raw sockets. What each test measures is what the page promises: a walk-in card is
not queued behind patient lists, slow clients do not hold the page, a dead worker is
replaced, a killed server takes its workers with it, and a list's job id (the only key
to its ZIP) never reaches the access log."""

from __future__ import annotations

import concurrent.futures
import io
import logging
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile

import httpx
import pytest

from tests.helpers.liveserver import free_port, running
from tests.helpers.processes import alive, descendants

HEADER_TIMEOUT = 3.0        # short stand-ins for the server's 10 s and 30 s
BODY_TIMEOUT = 4.0
CARD = {"locale": "en", "documents": "wallet-card", "paper": "letter", "card": "card", "name": "Walk In",
        "first_dose": "2026-12-01", "phone": "+1 555 010 2030"}


class Live:
    def __init__(self, guard, url: str, port: int):
        self.guard, self.url, self.port = guard, url, port
        self.access: list[str] = []

    @property
    def state(self):
        return self.guard.app.state


class _Capture(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__()
        self.lines = lines

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def live():
    from handouts.web.app import create_app
    port = free_port()
    guard = create_app(workers_count=2, warm=False, counter_workers=1, body_timeout=BODY_TIMEOUT)
    out = Live(guard, f"http://127.0.0.1:{port}", port)
    capture = _Capture(out.access)
    access = logging.getLogger("uvicorn.access")
    try:
        with running(guard, port, header_timeout=HEADER_TIMEOUT):
            access.addHandler(capture)          # after uvicorn's configuration set up logging
            yield out
    finally:
        access.removeHandler(capture)


def _client(live) -> httpx.Client:
    return httpx.Client(base_url=live.url, timeout=300)


def _patients(n: int, tag: str) -> bytes:
    rows = "".join(f"Patient {tag}{i:03d},2026-12-01,+1 555 010 {i:04d},en\n" for i in range(n))
    return ("name,first_dose,phone,locale\n" + rows).encode()


def _upload(client: httpx.Client, data: bytes):
    return client.post("/en/batch", files={"patients": ("list.csv", data, "text/csv")},
                       data={"locale": "en", "paper": "letter", "card": "letter-8up"},
                       headers={"accept": "application/json"})


def _status(client: httpx.Client, job: str) -> dict:
    return client.post("/en/batch/status", data={"job": job}).json()


def _wait(client: httpx.Client, job: str) -> dict:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = _status(client, job)
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError("the list did not finish")


def _card_seconds(client: httpx.Client) -> float:
    t0 = time.perf_counter()
    r = client.post("/en/download", data=CARD)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
    return time.perf_counter() - t0


# ------------------------------------------------------------------ the job id

def test_a_lists_job_id_never_reaches_the_access_log(live):
    """The job id is the only key to a list's ZIP; the access log records every path."""
    with _client(live) as c:
        r = _upload(c, _patients(2, "L"))
        assert r.status_code == 202
        job = r.json()["job"]
        assert _wait(c, job)["ready"]
        z = c.post("/en/batch/zip", data={"job": job})
        assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
            assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 5   # 2 x 2 + a sheet
        assert c.post("/en/batch/zip", data={"job": job}).status_code == 404   # handed over once
        time.sleep(0.2)
        logged = "\n".join(live.access)
        assert "POST /en/batch " in logged                    # the access log was captured
        assert job not in logged, "the job id reached the access log"
        assert "POST /en/batch/status" in logged and "POST /en/batch/zip" in logged
        r = _upload(c, _patients(1, "M"))
        other = r.json()["job"]
        _wait(c, other)
        for path in (f"/en/batch/{other}", f"/en/batch/{other}/zip"):       # no route takes it in a URL
            assert c.get(path).status_code in (404, 405)
        assert c.post("/en/batch/zip", data={"job": other}).status_code == 200


# ------------------------------------------------------------------ health and dead workers

def _pids(lane) -> list[int]:
    return list(lane._pool._processes)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def test_a_dead_worker_is_replaced_and_the_request_retried(live):
    """A killed worker used to break every later render (BrokenProcessPool) while the
    form still answered."""
    lane = live.state.counter
    with _client(live) as c:
        assert c.get("/health").json()["status"] == "ok"
        restarts = lane.restarts
        for _ in range(2):
            _kill(_pids(lane))
            time.sleep(0.3)
            r = c.post("/en/preview", data={**CARD, "documents": "both"})
            assert r.status_code == 200 and r.text.count("data:image/png;base64,") >= 4
        assert lane.restarts == restarts + 2
        health = c.get("/health")
        assert health.status_code == 200 and health.json()["lanes"]["counter"]["restarts"] == restarts + 2


def test_a_call_whose_worker_dies_is_retried_once_in_a_new_pool(tmp_path):
    """The retry, exactly: a call that kills its worker once succeeds on the new pool;
    one that kills every worker it reaches fails after one retry."""
    import asyncio
    from concurrent.futures.process import BrokenProcessPool

    from tests.helpers.liveserver import die_once
    from handouts.web.workers import Lane

    async def scenario():
        lane = Lane("test", 1)
        await lane.start()
        try:
            pid = await lane.run(die_once, str(tmp_path / "once"), 1)
            assert pid > 0 and lane.restarts == 1 and lane.healthy
            with pytest.raises(BrokenProcessPool):
                await lane.run(die_once, str(tmp_path / "always"), 99)
            assert len(list((tmp_path / "always").iterdir())) == 2          # the call and one retry
            assert lane.restarts == 2 and await lane.probe()               # rebuilt for the next call
        finally:
            lane.shutdown()

    asyncio.run(scenario())


def test_a_lane_is_ready_only_when_every_worker_has_warmed_up():
    """Two counter workers, the second slow to warm up: the lane starts once both can
    take a patient, not when the first has answered for both (the first patients would
    then wait behind the second's warm-up)."""
    import asyncio

    from tests.helpers.liveserver import SLOW_WARM_UP, warm_first_fast
    from handouts.web.workers import Lane

    async def scenario():
        lane = Lane("test", 2, warm=warm_first_fast)
        t0 = time.monotonic()
        await lane.start()
        try:
            assert time.monotonic() - t0 >= SLOW_WARM_UP
            assert len(lane.started) == 2 and lane.started == set(_pids(lane))
        finally:
            lane.shutdown()

    asyncio.run(scenario())


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (16, 2)])
def test_the_counter_has_two_workers_where_there_are_two_cores(monkeypatch, cores, expected):
    from handouts.web import server
    monkeypatch.setattr(server.os, "cpu_count", lambda: cores)
    assert server.default_counter_workers() == expected


def test_health_says_unhealthy_while_workers_cannot_be_restarted(live, monkeypatch):
    lane = live.state.counter

    async def cannot(*args):
        raise OSError("no more processes")

    with _client(live) as c:
        monkeypatch.setattr(lane, "_new_pool", cannot)
        _kill(_pids(lane))
        time.sleep(0.3)
        r = c.post("/en/download", data=CARD)
        assert r.status_code == 500 and "Something went wrong" in r.text and "Traceback" not in r.text
        health = c.get("/health")
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"
        assert health.json()["lanes"]["counter"]["healthy"] is False
        assert c.get("/en/").status_code == 200            # the form itself still answers
        monkeypatch.undo()
        health = c.get("/health")                          # the probe restarts the lane
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert _card_seconds(c) < 120


# ------------------------------------------------------------------ slow clients

def _open(port: int, first: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    if first:
        s.sendall(first)
    return s


def _answers(socks: list[socket.socket], seconds: float) -> dict[socket.socket, bytes | None]:
    """What the server sent on each connection before closing it, read from all of them
    at once; None for a connection still open after `seconds`."""
    got = {s: b"" for s in socks}
    open_ = set(socks)
    deadline = time.monotonic() + seconds
    while open_ and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_), [], [], max(0.0, deadline - time.monotonic()))
        for s in readable:
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                got[s] += chunk
            else:
                open_.discard(s)
    return {s: (None if s in open_ else data) for s, data in got.items()}


def test_slow_clients_do_not_hold_the_page(live):
    """63 POSTs sending their bodies a byte at a time, 20 connections sending their
    headers a byte at a time and 20 sending nothing: while they are open the page
    answers, and each is answered 408 and closed once its time is up."""
    host = f"Host: 127.0.0.1:{live.port}\r\n".encode()
    bodies = [_open(live.port, b"POST /en/download HTTP/1.1\r\n" + host +
                    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nn")
              for _ in range(63)]
    headers = [_open(live.port, b"GET /en/ HTTP/1.1\r\nHo") for _ in range(20)]
    silent = [_open(live.port, b"") for _ in range(20)]
    opened = time.monotonic()
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.25):
            for s in bodies + headers:
                try:
                    s.send(b"a")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        with _client(live) as c:
            t0 = time.perf_counter()
            page = c.get("/en/")
            page_seconds = time.perf_counter() - t0
            # ... while all the slow connections were still open and unanswered
            readable, _, _ = select.select(bodies + headers + silent, [], [], 0)
            assert readable == [] and time.monotonic() - opened < HEADER_TIMEOUT, \
                "the slow connections were closed before the page was asked"
            card = c.post("/en/download", data=CARD)
        assert page.status_code == 200 and "Download PDF" in page.text and page_seconds < 2.0
        assert card.status_code == 200 and card.headers["content-type"] == "application/pdf"
        # Then every one of them is answered 408 and closed once its time is up.
        got = _answers(bodies + headers + silent, BODY_TIMEOUT + 5 - (time.monotonic() - opened))
    finally:
        stop.set()
        thread.join()
        for s in bodies + headers + silent:
            s.close()
    answers = [got[s] for s in bodies + headers + silent]
    assert None not in answers, f"{answers.count(None)} slow connections still open after their time"
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), {a[:40] for a in answers}
    assert all(b"connection: close" in a.lower() for a in answers[:63])
    assert b"arrived too slowly" in answers[0]


# ------------------------------------------------------------------ the serve command

def test_workers_die_with_a_killed_server():
    """`kill -9` of `handouts serve`: its render workers (which hold the last lists in
    memory) must not live on."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "handouts", "serve", "--port", str(port), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        workers = descendants(proc.pid)
        assert len(workers) >= 2                  # the counter's worker and a list worker
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(w) for w in workers):
            time.sleep(0.05)
        assert not [w for w in workers if alive(w)], "workers outlived the killed server"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for w in workers | descendants(proc.pid):      # never leave an orphan behind
            if alive(w):
                os.kill(w, signal.SIGKILL)


def test_a_port_in_use_is_refused_before_any_worker_starts(monkeypatch, capsys):
    from handouts.cli import main
    from handouts.web import workers
    started = []

    async def start(self):
        started.append(self.name)

    monkeypatch.setattr(workers.Lane, "start", start)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        t0 = time.monotonic()
        code = main(["serve", "--port", str(busy.getsockname()[1])])
        seconds = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 2 and started == [], (code, started, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--port" in lines[0] and "already in use" in lines[0]
    assert seconds < 10


# ------------------------------------------------------------------ lists

def test_eight_lists_at_once_start_exactly_two(live):
    """The limit is taken before the upload is checked (an await): lists arriving
    together cannot all pass it. The places come back when the lists are done."""
    barrier = threading.Barrier(8)

    def one(i):
        with _client(live) as c:
            barrier.wait()
            return _upload(c, _patients(3, f"E{i}"))

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(8)))
    codes = sorted(r.status_code for r in results)
    assert codes == [202, 202] + [503] * 6, codes
    assert all("busy" in r.json()["error"] or "Try again" in r.json()["error"] for r in results
               if r.status_code == 503)
    with _client(live) as c:
        for r in results:
            if r.status_code == 202:
                assert _wait(c, r.json()["job"])["state"] == "done"
        assert _upload(c, _patients(1, "F")).status_code == 202          # the places are free again


def _both_seconds(client: httpx.Client) -> float:
    t0 = time.perf_counter()
    r = client.post("/en/download", data={**CARD, "documents": "both"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    return time.perf_counter() - t0


def test_a_walk_in_card_is_not_queued_behind_two_lists(live, capsys):
    """Two lists of 200 patients (800 renders, minutes of work) have just started; the
    card at the counter takes about what it takes on an idle page. (The lists are left
    running: the server's shutdown cancels them.)"""
    with _client(live) as c:
        for job in list(live.state.lists.jobs):
            if live.state.lists.jobs[job].state == "running":
                _wait(c, job)
        idle = [_card_seconds(c) for _ in range(5)]
        idle_both = min(_both_seconds(c) for _ in range(2))
        jobs = []
        for tag in ("A", "B"):
            r = _upload(c, _patients(200, tag))
            assert r.status_code == 202, r.text
            jobs.append(r.json()["job"])
        assert _upload(c, _patients(1, "C")).status_code == 503          # a third waits its turn
        deadline = time.monotonic() + 120
        while not all(_status(c, j)["done"] >= 3 for j in jobs):          # both lists are rendering
            assert time.monotonic() < deadline, "the lists did not start"
            time.sleep(0.1)
        busy = [_card_seconds(c) for _ in range(5)]
        busy_both = _both_seconds(c)
        during = [_status(c, j) for j in jobs]
    assert all(s["state"] == "running" and s["done"] < s["total"] for s in during), \
        "the lists finished before the cards were made"
    with capsys.disabled():
        print(f"\nwalk-in card: idle {statistics.median(idle):.3f} s, while two 200-row lists run "
              f"{statistics.median(busy):.3f} s (max {max(busy):.3f} s); card and handout: idle "
              f"{idle_both:.2f} s, while the lists run {busy_both:.2f} s; lists at "
              f"{[s['done'] for s in during]} of {[s['total'] for s in during]}")
    # In one queue with the lists, a card waited for every row ahead of it (minutes);
    # behind even the two rows each list keeps queued, about a second.
    assert statistics.median(busy) < max(20 * statistics.median(idle), 0.5), (idle, busy)
