"""Notifications on a caregiver's devices: Web Push (RFC 8030) with VAPID (RFC 8292), the
payload encrypted for each device (RFC 8291, aes128gcm) by pywebpush.

A payload is small JSON the service worker shows: a title, a line of text, the page to open and
a tag (a repeat replaces the notification instead of adding one). It names no child beyond the
first name and carries no result.
"""

import base64
import binascii
import ipaddress
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from diary.models.people import PushSubscription, User

logger = logging.getLogger(__name__)

GONE = {404, 410}  # the subscription expired or was withdrawn: forget it
MAX_ENDPOINT = 1024
MAX_DEVICES = 10  # per user: each reminder is one request per device


class SubscriptionError(ValueError):
    """A subscription the server refuses to keep (the message says why, in English)."""


def _b64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _allowed_host(host: str) -> bool:
    return any(host == h or host.endswith("." + h) for h in settings.PUSH_SERVICE_HOSTS)


def check_subscription(data) -> dict:
    """The endpoint and keys of a browser's PushSubscription JSON, or SubscriptionError.

    The server will POST to the endpoint, so only HTTPS to a known push service is accepted (a
    loopback address over plain HTTP only when PUSH_SERVICE_HOSTS names it: the tests' service).
    """
    if not isinstance(data, dict):
        raise SubscriptionError("a JSON object with endpoint and keys is expected")
    endpoint, keys = data.get("endpoint"), data.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        raise SubscriptionError("endpoint and keys are required")
    if len(endpoint) > MAX_ENDPOINT:
        raise SubscriptionError("endpoint too long")
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise SubscriptionError("endpoint is not a URL") from None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if parts.username or parts.password or not _allowed_host(host):
        raise SubscriptionError("endpoint is not a known push service")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SubscriptionError("endpoint must use https")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise SubscriptionError("keys.p256dh and keys.auth are required")
    try:
        point, secret = _b64(p256dh), _b64(auth)
    except (binascii.Error, ValueError):
        raise SubscriptionError("keys are not base64url") from None
    if len(point) != 65 or point[0] != 4 or len(secret) != 16:
        raise SubscriptionError("keys are not a P-256 public key and a 16-byte secret")
    try:
        from cryptography.hazmat.primitives.asymmetric import ec

        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise SubscriptionError("keys.p256dh is not a point of P-256") from None
    return {"endpoint": endpoint, "p256dh": p256dh, "auth": auth}


def subscribe(user: User, data, device: str = "") -> PushSubscription:
    """Keep USER's subscription (a device shared by two accounts belongs to the latest), at
    most MAX_DEVICES of them."""
    fields = check_subscription(data)
    # The oldest device beyond MAX_DEVICES makes room (a phone replaced, a browser reinstalled).
    others = PushSubscription.objects.filter(user=user).exclude(endpoint=fields["endpoint"])
    stale = list(others.order_by("-created").values_list("pk", flat=True)[MAX_DEVICES - 1 :])
    PushSubscription.objects.filter(pk__in=stale).delete()
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=fields["endpoint"],
        defaults={
            "user": user,
            "p256dh": fields["p256dh"],
            "auth": fields["auth"],
            "device": device[:100],
        },
    )
    return subscription


def device_label(user_agent: str) -> str:
    """ "Firefox on Android": enough for a caregiver to tell their devices apart."""
    browsers = (
        ("Edg/", "Edge"),
        ("SamsungBrowser", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    )
    systems = (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    )
    browser = next((name for key, name in browsers if key in user_agent), "")
    system = next((name for key, name in systems if key in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)[:100]


@dataclass
class Outcome:
    """What became of one push to every device of a user."""

    delivered: int = 0
    removed: int = 0  # gone (404/410): the subscription was deleted
    refused: list[str] = field(default_factory=list)  # other 4xx: this device will not take it
    retry: list[str] = field(default_factory=list)  # 429, 5xx, no answer: worth trying later

    @property
    def done(self) -> bool:
        """Nothing left worth retrying."""
        return not self.retry


def _vapid():
    from py_vapid import Vapid  # here, not at start-up: the web pages never push

    key = settings.VAPID_PRIVATE_KEY
    if key.lstrip().startswith("-----BEGIN"):
        return Vapid.from_pem(key.strip().encode())
    return Vapid.from_string(key)


def push(subscription: PushSubscription, payload: dict, topic: str = "") -> int:
    """Send PAYLOAD to one device; returns the push service's status (201 when accepted).

    Raises WebPushException for an answer above 202, requests' errors when none came."""
    from pywebpush import webpush

    headers = {"Urgency": "normal"}
    if topic:
        # RFC 8030 §5.4: a later message with the same topic replaces an undelivered one.
        headers["Topic"] = topic[:32]
    response = webpush(
        subscription.info(),
        data=json.dumps(payload, ensure_ascii=False),
        vapid_private_key=_vapid(),
        # A new dict each time: pywebpush writes the audience of the endpoint into it.
        vapid_claims={"sub": settings.VAPID_SUBJECT},
        ttl=settings.PUSH_TTL_SECONDS,
        timeout=settings.PUSH_TIMEOUT_SECONDS,
        headers=headers,
    )
    return response.status_code


def send(user: User, payload: dict, topic: str = "") -> Outcome:
    """Push PAYLOAD to every device of USER; a device the service says is gone is removed."""
    import requests
    from pywebpush import WebPushException

    outcome = Outcome()
    for subscription in list(PushSubscription.objects.filter(user=user)):
        try:
            push(subscription, payload, topic)
        except WebPushException as error:
            status = error.status_code
            if status in GONE:
                subscription.delete()
                outcome.removed += 1
                logger.info("push subscription %s gone (%s): removed", subscription.pk, status)
            elif status is not None and 400 <= status < 500 and status != 429:
                outcome.refused.append(f"{status}")
                logger.warning("push to subscription %s refused: %s", subscription.pk, status)
            else:
                outcome.retry.append(f"{status}")
        except (requests.RequestException, OSError) as error:
            outcome.retry.append(type(error).__name__)
        else:
            outcome.delivered += 1
            PushSubscription.objects.filter(pk=subscription.pk).update(last_sent=timezone.now())
    return outcome
