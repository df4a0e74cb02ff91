import os

from django.core.wsgi import get_wsgi_application

from chatproject.startup import serving_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings.local")

application = get_wsgi_application()

# runserver and gunicorn load this module in the process that serves: what
# only serving processes do starts here (chatproject/startup.py).
serving_started()
