"""Work to do once a server process starts serving (runserver, gunicorn), not
in every process that loads Django (commands, tests). Apps register it in
their `AppConfig.ready()`; `chatproject.wsgi` runs it, so this project's
package imports no app."""

from collections.abc import Callable

_hooks: list[Callable[[], None]] = []


def on_serving(hook: Callable[[], None]) -> None:
    _hooks.append(hook)


def serving_started() -> None:
    for hook in _hooks:
        hook()
