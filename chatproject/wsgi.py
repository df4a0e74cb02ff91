import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings.local")

application = get_wsgi_application()

# runserver and gunicorn load this module in the process that serves (on the
# in-process content stand-in, chats whose content died with the last process
# go: see chats/ephemeral.py).
if settings.PRUNE_CHATS_WITHOUT_CONTENT_AT_START:
    from chatproject.startup import serving_started

    serving_started()
