"""Mask secret values in log records before any handler writes them.

The secrets are the values of environment variables whose names contain SECRET,
PASSWORD, TOKEN or KEY (SECRET_KEY, DATABASE_PASSWORD, KOTAK_ACCESS_TOKEN,
KOTAK_CONSUMER_KEY, ...), plus the password inside DATABASE_URL. Masking by value
catches a secret however it reached the message: an f-string, an exception
from a library, a dict of broker credentials.
"""

import logging
import os
import re
from urllib.parse import urlsplit

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)
# Shorter values ("1", "true") would mask ordinary words and numbers.
MIN_SECRET_LENGTH = 6
MASK = "********"


def secret_values(environ=None):
    environ = os.environ if environ is None else environ
    values = {value for name, value in environ.items() if SECRET_NAME.search(name)}
    password = urlsplit(environ.get("DATABASE_URL", "")).password
    if password:
        values.add(password)
    values = {value.strip() for value in values}
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def mask(text, secrets):
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class MaskSecretsFilter(logging.Filter):
    """Rewrite a record's message and traceback with secret values masked."""

    def __init__(self, name="", environ=None):
        super().__init__(name)
        self.secrets = secret_values(environ)

    def filter(self, record):
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = mask(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, self.secrets)
        return True
