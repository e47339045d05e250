"""How a benchmark runs itself once per database: a child process per engine, and a
scratch PostgreSQL database beside BENCH_DATABASE_URL's, dropped afterwards."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.bench.results import scratch_database_name

ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV = {"SECRET_KEY": "bench-only-secret", "DEBUG": "false"}


class scratch_postgres:
    """A database named for the benchmark's `area`, created on entry (its URL) and dropped
    on exit."""

    def __init__(self, url, area="sync"):
        self.parts = urlsplit(url)
        self.name = scratch_database_name(area)

    def _admin(self):
        import psycopg

        admin = urlunsplit(self.parts._replace(path="/postgres"))
        return psycopg.connect(admin, autocommit=True)

    def __enter__(self):
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            admin.execute(f'CREATE DATABASE "{self.name}"')
        return urlunsplit(self.parts._replace(path=f"/{self.name}"))

    def __exit__(self, *exc):
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_child(script, database_url, label, **env):
    """Run `script` again with BENCH_CHILD set, on `database_url`; it prints its own figures."""
    env = {
        **CHILD_ENV,
        **env,
        **os.environ,
        "BENCH_CHILD": "1",
        "DATABASE_URL": database_url,
        "BENCH_LABEL": label,
    }
    subprocess.run([sys.executable, script], env=env, cwd=ROOT, check=True)


def child_result(script, database_url):
    """Run `script --engine database_url` and return the JSON its last line prints."""
    result = subprocess.run(
        [sys.executable, script, "--engine", database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"benchmark on {database_url.split(':')[0]} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])
