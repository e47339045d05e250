"""WSGI entry point (gunicorn orderstate.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")

application = get_wsgi_application()
