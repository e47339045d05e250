"""gunicorn settings for orderstate (README, "Running in production").

Every value can be overridden from the environment (GUNICORN_*), or with
gunicorn's own command-line flags.
"""

import multiprocessing
import os
import shutil
import tempfile


def _int(name, default):
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# The usual 2 x cores + 1: requests mostly wait on the database.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
# gthread workers. A long poll (GET /api/v1/events/?wait=, up to 30 s) holds a
# thread while it waits, but no database connection; a worker lets at most
# threads - 4 of them wait, so four threads always answer everything else, and
# answers 503 too_many_waiters past that (docs/operations.md, "Long polls").
threads = _int("GUNICORN_THREADS", 32)
os.environ.setdefault("ORDERSTATE_EVENT_WAITERS", str(max(0, threads - 4)))
# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM or a reload (SIGHUP), workers finish their requests for this long.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak never grows; the jitter keeps
# them from all restarting at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Off: each worker imports the app and opens its own database connections after
# the fork, so no connection (or pool) is ever shared between processes.
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Trust X-Forwarded-* only from these proxy addresses.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "orderstate.wsgi:application"

# /metrics counts the requests of every worker (prometheus-client's multiprocess mode):
# each worker writes its counts to files in this directory, and a scrape, whichever
# worker answers it, sums them. Set before any worker imports prometheus-client; a
# directory of our own, emptied when the server starts and removed when it stops.
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"orderstate-metrics-{os.getpid()}"),
)


def on_starting(server):
    os.makedirs(metrics_dir, exist_ok=True)
    for name in os.listdir(metrics_dir):
        if name.endswith(".db"):
            os.remove(os.path.join(metrics_dir, name))


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(metrics_dir, ignore_errors=True)
