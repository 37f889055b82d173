"""The API's JSON parser: a body too large or nested too deeply is a 400 with a message in the
user's language, never a 500 (Python's json raises RecursionError, not ValueError, at about a
thousand levels) nor Django's HTML error page."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# The deepest request of the API (a day: {"doses": [{"…": …}]}) has 3 levels.
MAX_DEPTH = 32


def depth_over(data, limit: int) -> bool:
    """Whether DATA (parsed JSON) holds lists or objects nested more than LIMIT deep."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((item, depth + 1) for item in value)
    return False


def too_large() -> ParseError:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return ParseError(_("The request is too large: send at most %(size)d bytes.") % {"size": limit})


def exception_handler(exc, context):
    """DRF's, with Django's refusal of a body over DATA_UPLOAD_MAX_MEMORY_SIZE (raised when DRF
    reads the body, before any parser) as a 400 in the API's own format."""
    from rest_framework.views import exception_handler as drf_handler  # imports this module

    if isinstance(exc, RequestDataTooBig):
        exc = too_large()
    return drf_handler(exc, context)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # DRF reads the body through Django, which checks the limit; this holds for any stream.
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise too_large()
        too_deep = _("The JSON is nested too deeply: at most %(depth)d levels.") % {
            "depth": MAX_DEPTH
        }
        parse_constant = json.strict_constant if self.strict else None  # NaN, Infinity
        try:
            data = json.loads(body.decode(encoding), parse_constant=parse_constant)
        except RecursionError:
            raise ParseError(too_deep) from None
        except ValueError as error:  # UnicodeDecodeError is a ValueError too
            message = _("The JSON could not be read: %(error)s") % {"error": error}
            raise ParseError(message) from None
        if depth_over(data, MAX_DEPTH):
            raise ParseError(too_deep)
        return data
