"""The /api route table: each route is declared once, with what it reads and what it answers,
and both the router registration (`mount`) and the OpenAPI document (``handlers.openapi``) are
built from that declaration.

Adding a route under /api:

1. Write the handler. It returns ``Reply(SomeOut(...), status=...)`` where ``SomeOut`` is a
   pydantic model (put shared ones in ``handlers/openapi_models.py``, forbid extra keys), or a
   ``web.Response`` for a non-JSON answer (declare it with `Text`). Read a JSON body with
   ``await read_body(request, SomeBody)``.
2. Declare it in the module's ``ROUTES``::

       Route("GET", "/api/things/{id}", get_thing, "getThing", "One thing",
             responses={200: ThingOut}, params=(ID_PARAM,), tag="things")

   ``params`` lists every path, query and header parameter with a typed annotation (bounds
   included: ``Annotated[int, Field(ge=1, le=500)]``); every ``{name}`` in the path must have
   one. Error answers (`ErrorBody`) for 400/401/403/429, and 404/409/413/415 where they apply,
   are documented for you; list any other in ``errors``.
3. Mount the table from the module's ``register``: ``mount(app, ROUTES)``.

The scope a token needs comes from ``handlers.api.required_scope`` (the check the auth
middleware makes), so the document cannot promise another. ``tests/api/test_openapi.py``
fails for any /api route on the router that is missing from the document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from handlers.body import read_json
from handlers.openapi_models import error_json

M = TypeVar("M", bound=BaseModel)
Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
Where = Literal["path", "query", "header"]

# Every route mounted through `mount`, in order: the OpenAPI document is built from this list.
API_ROUTES = web.AppKey("api_routes", list["Route"])
_PATH_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Reply(Generic[M]):
    """A JSON answer: a model of the type the route declares for ``status``."""

    body: M
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


RouteHandler = Callable[[web.Request], Awaitable[Reply[Any] | web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Text:
    """A non-JSON answer (or one whose media type the caller picks): its media types, with a
    model for the JSON one when there is one."""

    media_types: tuple[str, ...]
    description: str
    json_model: type[BaseModel] | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """A path, query or header parameter; its JSON schema is generated from ``type``."""

    name: str
    where: Where
    type: Any
    description: str
    required: bool = False
    # For an array in the query: False is ``a,b`` in one parameter, True is ``x=a&x=b``.
    explode: bool | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of the API."""

    method: Method
    path: str
    handler: RouteHandler
    operation_id: str
    summary: str
    responses: Mapping[int, type[BaseModel] | Text]
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    errors: frozenset[int] = frozenset()
    tag: str = "incidents"
    # Response headers of the success answers: name → description.
    response_headers: Mapping[str, str] = field(default_factory=dict)
    # Served without a token (the auth middleware lets ``handlers.openapi.PUBLIC_PATHS`` by).
    public: bool = False

    @property
    def path_names(self) -> list[str]:
        """The ``{name}`` parts of the path."""
        return _PATH_PARAM.findall(self.path)

    @property
    def description(self) -> str:
        """The handler's docstring, which says what the route does."""
        doc = getattr(self.handler, "__doc__", None) or ""
        return doc.strip()


def mount(app: web.Application, routes: tuple[Route, ...]) -> None:
    """Add ``routes`` to the router (each answer checked against its declaration) and to the
    list the OpenAPI document is built from."""
    if API_ROUTES not in app:
        app[API_ROUTES] = []
    for route in routes:
        app.router.add_route(route.method, route.path, _serving(route))
        app[API_ROUTES].append(route)


def _serving(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(route.handler)
    async def serve(request: web.Request) -> web.StreamResponse:
        out = await route.handler(request)
        if isinstance(out, web.StreamResponse):
            return out
        declared = route.responses.get(out.status)
        model = declared.json_model if isinstance(declared, Text) else declared
        if model is None or not isinstance(out.body, model):
            # A programming error: the document would promise something else.
            raise TypeError(
                f"{route.operation_id} answered {out.status} with {type(out.body).__name__}; "
                f"its declaration says {declared!r}"
            )
        # json.dumps, as web.json_response always wrote: the bytes stay what clients know.
        body = out.body.model_dump(mode="json", exclude_unset=True)
        return web.json_response(body, status=out.status, headers=out.headers)

    return serve


def bad_request(message: str, **extra: object) -> web.HTTPBadRequest:
    """A 400 with an `ErrorBody`, to raise."""
    return web.HTTPBadRequest(
        text=json.dumps(error_json(message, **extra)), content_type="application/json"
    )


async def read_body(request: web.Request, model: type[M]) -> M:
    """The JSON body validated by ``model``; a 400 naming the first field at fault."""
    data = await read_json(request)
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise bad_request(f"{where}: {err['msg']}", field=where) from None
