import os

from django.core.handlers.wsgi import WSGIHandler

from radgov.cli import start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")
start()  # as every radgov process starts (collector.start_up); the handler sets each request's prefix
application = WSGIHandler()

# Any WSGI server (not only `radgov serve`, which runs the system checks) refuses
# to start in production without usable keys: never a silent plaintext fallback.
from django.conf import settings  # noqa: E402

if settings.PRODUCTION:
    from radgov.core.keys import check_keys

    check_keys()
