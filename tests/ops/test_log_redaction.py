"""Secret values from the environment never reach a log line."""

import io
import logging
import os
import subprocess
import sys

from orderstate.ops.log_redaction import MASK, MaskSecretsFilter
from tests.paths import ROOT

ENVIRON = {
    "KOTAK_ACCESS_TOKEN": "eyJhbGciOi-access-token-value",
    "KOTAK_CONSUMER_KEY": "consumer-key-1234",
    "KOTAK_PASSWORD": "hunter2hunter2",
    "DATABASE_URL": "postgres://orders:db-pass-9876@db.internal:5432/orders",
    "LOG_LEVEL": "INFO",
    "DEBUG": "false",
}


def logger_with_filter(environ):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskSecretsFilter(environ=environ))
    logger = logging.getLogger(f"test_log_redaction.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger, stream


def test_secret_values_in_message_and_args_are_masked():
    logger, stream = logger_with_filter(ENVIRON)
    logger.error("login with %s and %s", ENVIRON["KOTAK_CONSUMER_KEY"], ENVIRON["KOTAK_PASSWORD"])
    logger.warning(f"token {ENVIRON['KOTAK_ACCESS_TOKEN']} expired")
    output = stream.getvalue()
    assert ENVIRON["KOTAK_CONSUMER_KEY"] not in output
    assert ENVIRON["KOTAK_PASSWORD"] not in output
    assert ENVIRON["KOTAK_ACCESS_TOKEN"] not in output
    assert output.count(MASK) == 3


def test_database_password_in_a_traceback_is_masked():
    logger, stream = logger_with_filter(ENVIRON)
    try:
        raise ConnectionError(f"cannot connect to {ENVIRON['DATABASE_URL']}")
    except ConnectionError:
        logger.exception("sync failed")
    output = stream.getvalue()
    assert "db-pass-9876" not in output
    assert "ConnectionError" in output
    assert "db.internal" in output


def test_ordinary_values_and_short_secrets_are_left_alone():
    logger, stream = logger_with_filter({**ENVIRON, "SECRET_KEY": "x"})
    logger.info("order %s filled %s at %s", "240601000012345", 10, "2500.00")
    assert stream.getvalue().strip() == "order 240601000012345 filled 10 at 2500.00"


def test_configured_logging_masks_secrets_end_to_end():
    code = (
        "import django, logging, os; django.setup(); "
        "logging.getLogger('orderstate.brokers').error("
        "'kotak login %s', os.environ['KOTAK_ACCESS_TOKEN'])"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "orderstate.settings",
        "SECRET_KEY": "secret-key-long-enough-to-be-masked",
        "DATABASE_URL": "",
        **{k: v for k, v in ENVIRON.items() if k != "DATABASE_URL"},
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "kotak login " + MASK in result.stderr
    assert ENVIRON["KOTAK_ACCESS_TOKEN"] not in result.stderr
