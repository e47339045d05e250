"""Production settings: `check --deploy` is clean, and a missing SECRET_KEY stops start-up."""

import os
import subprocess
import sys

import pytest

from tests.paths import ROOT

PRODUCTION_SECRET = "k3y-for-the-deploy-check-only-0123456789-abcdefghijklmnopqrstuvwxyz"


def production_env(tmp_path, **overrides):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DEBUG": "false",
        "SECRET_KEY": PRODUCTION_SECRET,
        "HTTPS": "true",
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "ALLOWED_HOSTS": "orders.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://orders.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_https_is_not_declared(tmp_path):
    env = production_env(tmp_path, HTTPS=None, SECURE_PROXY_SSL_HEADER=None)
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr + result.stdout


def test_startup_fails_clearly_without_secret_key_when_debug_is_off(tmp_path):
    env = production_env(
        tmp_path, SECRET_KEY=None, ORDERSTATE_LOCAL_SECRET_FILE=str(tmp_path / "none")
    )
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_a_local_install_finds_its_generated_key_without_debug(tmp_path):
    """`make run` writes var/secret_key; `manage.py check_state` and friends then work as
    the README prints them, with DEBUG off and no SECRET_KEY in the environment."""
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION_SECRET + "\n")
    env = production_env(tmp_path, SECRET_KEY=None, ORDERSTATE_LOCAL_SECRET_FILE=str(key_file))

    result = manage(
        env, "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == PRODUCTION_SECRET


def test_make_run_and_serve_write_the_local_key():
    plan = subprocess.run(
        ["make", "-n", "-B", "var/secret_key"], cwd=ROOT, capture_output=True, text=True
    )
    makefile = (ROOT / "Makefile").read_text()
    assert "secrets.token_urlsafe" in plan.stdout
    assert "run: install var/secret_key" in makefile
    assert "serve: install var/secret_key" in makefile


def test_startup_refuses_a_sync_batch_size_below_one(tmp_path):
    result = manage(production_env(tmp_path, ORDERSTATE_SYNC_BATCH_SIZE="0"), "check")
    assert result.returncode != 0
    assert "ORDERSTATE_SYNC_BATCH_SIZE must be at least 1, not 0" in result.stderr


def test_secret_key_is_read_from_secret_key_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION_SECRET + "\n")
    env = production_env(tmp_path, SECRET_KEY=None, SECRET_KEY_FILE=str(key_file))
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_html_pages_carry_csp_and_framing_headers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/orders/", "/healthz", "/metrics", "/api/schema/"])
def test_csp_is_not_added_to_json_answers(client, url):
    assert "Content-Security-Policy" not in client.get(url)


@pytest.mark.django_db
def test_api_docs_page_gets_its_own_policy_and_other_pages_do_not(client):
    docs = directives(client.get("/api/docs/")["Content-Security-Policy"])
    login = directives(client.get("/accounts/login/")["Content-Security-Policy"])

    expected_docs = {**login, "style-src": "'self' 'unsafe-inline'"}
    del expected_docs["form-action"]  # as before django-csp: Swagger UI posts no forms
    assert docs == expected_docs
    assert login == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def directives(policy):
    """A policy header as {directive: sources}, whatever order it lists them in."""
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {name: sources for name, sources in parts}


def test_make_serve_keeps_its_generated_secret_out_of_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "var/secret_key"], cwd=ROOT, capture_output=True, text=True
    )
    assert ignored.returncode == 0


def test_whitenoise_serves_hashed_static_files_with_a_long_cache(tmp_path):
    (tmp_path / "static_settings.py").write_text(
        "from orderstate.settings import *  # noqa: F403\n"
        f"STATIC_ROOT = {str(tmp_path / 'collected')!r}\n"
    )
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="static_settings")
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{ROOT}"
    collected = manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    assert collected.returncode == 0, collected.stderr
    probe = (
        "import django; django.setup()\n"
        "from django.templatetags.static import static\n"
        "from django.test import Client\n"
        "url = static('admin/css/base.css')\n"
        "response = Client().get(url, secure=True, HTTP_HOST='orders.example.com')\n"
        "print(url, response.status_code, response['Cache-Control'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    url, status, cache_control = result.stdout.split(" ", 2)
    assert url.startswith("/static/admin/css/base.") and url != "/static/admin/css/base.css"
    assert status == "200"
    assert "immutable" in cache_control
