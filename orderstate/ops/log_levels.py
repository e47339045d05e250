"""Client mistakes Django logs as server errors, logged as the warnings they are.

A request body over DATA_UPLOAD_MAX_MEMORY_SIZE is logged by Django at ERROR with
its traceback (logger `django.security.RequestDataTooBig`); the client gets a
400/413 and nothing on the server is wrong, so one warning line says enough.
"""

import logging


class ClientErrorAsWarning(logging.Filter):
    def filter(self, record):
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return True
