"""One function per email, each rendering three templates: subject, text and html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def send(name: str, to: str, context: dict, language: str, headers: dict | None = None) -> None:
    with translation.override(language):
        subject = render_to_string(f"emails/{name}_subject.txt", context).strip()
        text = render_to_string(f"emails/{name}.txt", context)
        html = render_to_string(f"emails/{name}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
    )
    message.attach_alternative(html, "text/html")
    message.send()


def send_invitation(invitation, url: str, language: str) -> None:
    send(
        "invitation",
        invitation.email,
        {
            "invitation": invitation,
            "url": url,
            "inviter": invitation.invited_by.display_name if invitation.invited_by else "",
            "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
        },
        language,
    )
