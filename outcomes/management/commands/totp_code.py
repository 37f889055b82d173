from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.twofactor import next_code
from outcomes.management.commands.seed_demo import DEMO_DEVICE


class Command(BaseCommand):
    help = "Print the current sign-in code of a demo account (development only, DEBUG=1)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("totp_code works only in development (DEBUG=1).")
        device = TOTPDevice.objects.filter(
            user__username=username, name=DEMO_DEVICE, confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"{username} has no demo authenticator (run seed_demo).")
        self.stdout.write(next_code(device))
