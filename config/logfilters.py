"""Log redaction: imported while logging is configured, before the apps, so no models here."""

import logging
import re


class RedactFilter(logging.Filter):
    """Removes email addresses and the secret part of token-bearing paths from log lines, and
    the template context from django.template's tracebacks.

    django.request logs the path of every 4xx and 5xx response, and invitation, unsubscribe and
    password-reset links carry a token in the path."""

    EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
    TOKEN_PATH = re.compile(r"(/(?:invite|unsubscribe|reset)/)[^\s\"'?]+")

    def redact(self, text: str) -> str:
        return self.TOKEN_PATH.sub(r"\1[redacted]/", self.EMAIL.sub("[email]", text))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.template" and record.exc_info:
            # Its DEBUG tracebacks print the whole template context (names, notes...).
            record.exc_info, record.exc_text = None, None
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the traceback is printed redacted too.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True
