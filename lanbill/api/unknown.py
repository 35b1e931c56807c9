"""Unknown /api/v1/... URLs answer JSON too: 404, or 405 with Allow when
the path exists for other methods.

Flask does not hand routing errors to a blueprint's error handlers, so a
catch-all route in the blueprint catches them.  Werkzeug would prefer the
catch-all over a 405, so the real routes are matched again in a map of
their own to tell the two apart.
"""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map

from lanbill.api import bp

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CATCH_ALL_ENDPOINTS = {"api.unknown_path"}


def _api_map() -> Map:
    cached = current_app.extensions.get("lanbill_api_map")
    if cached is None:
        rules = [
            rule.empty()
            for rule in current_app.url_map.iter_rules()
            if rule.endpoint.startswith("api.") and rule.endpoint not in CATCH_ALL_ENDPOINTS
        ]
        cached = Map(rules, converters=current_app.url_map.converters, strict_slashes=False)
        current_app.extensions["lanbill_api_map"] = cached
    return cached


@bp.route("/", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
def unknown_path(path):
    """404, or the 405 (with its Allow list) a real route would give."""
    try:
        _api_map().bind("localhost").match(request.path, method=request.method)
    except MethodNotAllowed:
        raise
    except HTTPException:  # NotFound, or a redirect for a missing slash
        pass
    raise NotFound()
