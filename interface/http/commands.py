"""Command endpoints on one aggregate, all with the same conventions: a body that subclasses
``CommandMeta``, ``If-Match``, and ``CommandAccepted`` with the version as ``ETag``.

``aggregate_command`` adds ``POST {prefix}/{<id>}{path}`` to a router for a handler of
``(service, context, id, body, expected version)``; the path parameter keeps the name the
permission matrix and the documentation use (``opportunity_id``, ``case_id``…).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.

import inspect
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response

from application.service import CommandResult, Fullchain
from domain.base import CommandContext
from interface.http.deps import (
    CommandAccepted,
    CommandMeta,
    ExpectedVersion,
    Staff,
    context,
    services,
)
from interface.http.errors import responses
from interface.runtime import Services

COMMAND_ERRORS = responses(401, 404, 409, 412, 422)

Handler = Callable[[Fullchain, CommandContext, UUID, Any, int | None], CommandResult]


def accepted(response: Response, result: CommandResult) -> CommandAccepted:
    response.headers["ETag"] = f'"{result.version}"'
    return CommandAccepted.of(result)


def aggregate_command(
    router: APIRouter,
    id_name: str,
    path: str,
    summary: str,
    body_type: type[CommandMeta],
    handler: Handler,
    description: str = "",
) -> None:
    """``POST /{id_name}{path}`` on ``router``: ``handler`` decides, the answer follows."""

    def endpoint(**arguments: Any) -> CommandAccepted:
        s: Services = arguments["s"]
        body: CommandMeta = arguments["body"]
        result = handler(
            s.app,
            context(s, arguments["staff"], body),
            arguments[id_name],
            body,
            arguments["expected"],
        )
        return accepted(arguments["response"], result)

    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(id_name, keyword, annotation=Annotated[UUID, Path()]),
            inspect.Parameter("body", keyword, annotation=body_type),
            inspect.Parameter("staff", keyword, annotation=Staff),
            inspect.Parameter("s", keyword, annotation=Annotated[Services, Depends(services)]),
            inspect.Parameter("expected", keyword, annotation=ExpectedVersion),
            inspect.Parameter("response", keyword, annotation=Response),
        ],
        return_annotation=CommandAccepted,
    )
    endpoint.__name__ = "_".join(
        part for part in path.replace("/", "_").replace("-", "_").split("_") if part
    )
    router.post(
        f"/{{{id_name}}}{path}",
        summary=summary,
        description=description,
        response_model=CommandAccepted,
        responses=COMMAND_ERRORS,
    )(endpoint)
