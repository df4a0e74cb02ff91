import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from chatproject.startup import serving_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings.local")

application = get_wsgi_application()

# Every route's code loaded now rather than by the first request, then what
# start-up built (about 130,000 objects, kept for the process's life) moved
# out of the garbage collector's sight: each full collection walked it all
# (90 ms here, every few thousand requests). Before the serving hooks, which
# start the model loading in the background: while llama.cpp loads a model
# quietly it points the process's stdout at /dev/null, and a second spent
# here after that start let a caller's own output fall into it.
get_resolver().url_patterns  # noqa: B018 - imports the views
gc.collect()  # start-up's garbage goes first, not frozen with the rest
gc.freeze()

# runserver and gunicorn load this module in the process that serves: what
# only serving processes do starts here (chatproject/startup.py).
serving_started()
