from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user's own language wins over the browser's (parents may share a phone)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            request.LANGUAGE_CODE = user.language
            # Only for this request: a thread's next request or task starts from the default.
            with translation.override(user.language):
                return self.get_response(request)
        return self.get_response(request)
