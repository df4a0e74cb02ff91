"""The router of every API app.

Each route answers only the methods of its actions (and HEAD beside GET), so
its `Allow` header, on every response, lists exactly what it accepts: DRF
would otherwise list OPTIONS, which answers 405 here (no metadata pages; CORS
preflights are answered by django-cors-headers before any view).
"""

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    def __init__(self):
        super().__init__(trailing_slash=False)

    def get_routes(self, viewset):
        routes = []
        for route in super().get_routes(viewset):
            methods = list(self.get_method_map(viewset, route.mapping))
            if "get" in methods:
                methods.append("head")
            routes.append(route._replace(initkwargs={**route.initkwargs, "http_method_names": methods}))
        return routes
