"""For tests and benchmarks that start gunicorn on 127.0.0.1: waiting until it answers."""

import time

import httpx


def wait_until_up(base, server, log=None, timeout=60):
    """Return once `base`/healthz answers 200; raise if `server` (a Popen) exits first, with
    the end of `log` (a path) when given, or when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            told = log.read_text()[-2000:] if log is not None else f"code {server.returncode}"
            raise RuntimeError(f"gunicorn exited: {told}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz")
