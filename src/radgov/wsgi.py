import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radgov.settings")
application = get_wsgi_application()

# Any WSGI server (not only `radgov serve`, which runs the system checks) refuses
# to start in production without usable keys: never a silent plaintext fallback.
from django.conf import settings  # noqa: E402

if settings.PRODUCTION:
    from radgov.core.keys import check_keys

    check_keys()
