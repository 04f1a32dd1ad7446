"""The console: a single-page application for staff (sign in, my day, search, a customer's
page and the logging of an interaction), and for customer and partner users their own
pages (their shipments, cases, quotes and documents; their links, handovers and answers for
responsibility), served by the service itself, and the API
documentation (Swagger UI) from files installed with the service, so neither needs a
network beyond the service's own address."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

#: The console's own files: plain ES modules and CSS, no build step.
STATIC = Path(__file__).parent / "static"
#: Where the browser finds them.
STATIC_URL = "/console/static"
#: Swagger UI's distribution files, as the ``swagger-ui-py`` package installs them.
#: The console's pages may load and call nothing but the service itself.
CONSOLE_POLICY = (
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SWAGGER_UI = Path(str(files("swagger_ui") / "static"))
SWAGGER_URL = "/docs/assets"
DOCS_URL = "/docs"


def install(app: FastAPI) -> None:
    """Serve the console at ``/`` and ``/console/...``, and the API documentation at
    ``/docs`` (the app is made with ``docs_url=None``). These are plain routes, outside the
    API document and its bearer token: what they serve is public, and every call the
    console makes carries the token its user signed in with."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="console-static")
    app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")

    async def console(_: Request) -> Response:
        return FileResponse(
            STATIC / "index.html",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": CONSOLE_POLICY},
        )

    async def to_console(_: Request) -> Response:
        return RedirectResponse("/", status_code=308)

    async def docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
            # No online validator: the page asks nothing of any other host.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    app.add_route("/", console, methods=["GET"], include_in_schema=False)
    app.add_route("/console", to_console, methods=["GET"], include_in_schema=False)
    app.add_route("/console/{page:path}", console, methods=["GET"], include_in_schema=False)
    app.add_route(DOCS_URL, docs, methods=["GET"], include_in_schema=False)
