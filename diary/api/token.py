"""API tokens: username and password, plus a second-factor code for staff (and any user who
set up an authenticator app). Failures count towards the sign-in lockout (django-axes).

Each call gives a new token for one device (diary.tokens): it expires by role, and signing out
of the device (`POST /api/auth/token/logout/`) revokes it."""

from django.contrib.auth import authenticate, user_logged_in, user_logged_out
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import user_has_device
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from diary.api.parsers import JSONParser
from diary.tokens import DeviceTokenAuthentication, issue_token
from diary.twofactor import needs_second_factor, verify_code


class TokenRequest(serializers.Serializer):
    username = serializers.CharField(write_only=True)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    otp_token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "A code from the authenticator app or a backup code: required for clinicians, "
            "researchers, site administrators and anyone who set up an app."
        ),
    )
    device = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=gettext_lazy(
            'A name for this device ("Alice\'s phone"), shown on the account page where its '
            "token can be revoked."
        ),
    )


class TokenResponse(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    expiry = serializers.DateTimeField(read_only=True)


@method_decorator(sensitive_post_parameters("password", "otp_token"), name="dispatch")
class TokenView(APIView):
    # Credentials come in the body; no session, so no CSRF and no half-signed-in session.
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    # Also a plain form post (`curl -d username=…`), as DRF's own token view accepts.
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    serializer_class = TokenRequest

    @extend_schema(
        request=TokenRequest,
        responses={
            200: TokenResponse,
            400: OpenApiResponse(description="Wrong credentials or second-factor code"),
            429: OpenApiResponse(description="Too many failures from this address"),
        },
        auth=[],
    )
    def post(self, request):
        data = TokenRequest(data=request.data)
        data.is_valid(raise_exception=True)
        # Django's request: django-axes marks a lockout on it for its middleware.
        http_request = request._request
        user = authenticate(
            http_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            return Response(
                {"non_field_errors": [_("Unable to sign in with these credentials.")]}, status=400
            )
        if needs_second_factor(user):
            code = data.validated_data.get("otp_token", "")
            if not user_has_device(user):
                problem = _("Set up two-factor sign-in in the web app first.")
            elif not code:
                problem = _("A code from your authenticator app (or a backup code) is required.")
            elif verify_code(user, code) is None:
                problem = _("That code is not right.")
            else:
                problem = None
            if problem:
                return Response({"otp_token": [problem]}, status=400)
        stored, token = issue_token(user, data.validated_data.get("device", ""))
        # A successful sign-in for django-axes (clears failures) and last_login.
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)
        return Response(TokenResponse({"token": token, "expiry": stored.expiry}).data)


class TokenLogoutView(APIView):
    """Sign this device out: the token in the Authorization header stops working."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        request.auth.delete()
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        return Response(status=204)
