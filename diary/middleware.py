from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user's own language wins over the browser's (parents may share a phone)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = translation.get_language()
        if user is not None and user.is_authenticated and user.language:
            request.LANGUAGE_CODE = language = user.language
        # Only for this request: a thread's next request or task starts from the default. A
        # device token is read later, by DRF, which switches to its user's language inside.
        with translation.override(language):
            return self.get_response(request)


def use_language_of(request, user) -> None:
    """Answer in USER's language from here on (for the rest of this request only, within
    UserLanguageMiddleware)."""
    if user.language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language
