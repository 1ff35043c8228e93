"""Start the counter page with uvicorn: loopback only unless --allow-remote."""

from __future__ import annotations

import copy
import ipaddress
import sys

from handouts.errors import HandoutsError


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


def serve(host: str = "127.0.0.1", port: int = 8000, allow_remote: bool = False, workers: int = 0) -> None:
    remote = check_host(host, allow_remote)
    import uvicorn

    from . import core, i18n
    from .app import LOOPBACK_HOSTS, create_app
    for code in core.locale_codes():     # a bad catalog stops here, with one line naming it
        i18n.translations(code)
    if remote:
        print(f"handouts: WARNING: serving on {host}: anyone who can reach this machine on port {port} "
              "can use the page and see what it renders; there is no login and no encryption (HTTP). "
              "Use it only on a trusted network.", file=sys.stderr)
    app = create_app(workers, warm=True, allowed_hosts=None if remote else LOOPBACK_HOSTS)
    shown = f"[{host}]" if ":" in host else host
    print(f"handouts: the counter page will be at http://{shown}:{port}/ once the workers are warm "
          "(Ctrl+C to stop)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_config=log_config(), server_header=False,
                proxy_headers=False, limit_concurrency=64, timeout_keep_alive=5)
