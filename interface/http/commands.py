"""What command endpoints share: the answer, ``CommandAccepted`` with the aggregate's new
version, also as ``ETag``; the errors a command on an existing aggregate may meet; and the
body of the commands that take nothing but a reason."""

from __future__ import annotations

from fastapi import Response

from application.commands import CommandResult
from interface.http.deps import CommandAccepted, CommandMeta
from interface.http.errors import responses
from interface.http.fields import Reason

COMMAND_ERRORS = responses(401, 404, 409, 412, 422)


def accepted(response: Response, result: CommandResult) -> CommandAccepted:
    response.headers["ETag"] = f'"{result.version}"'
    return CommandAccepted.of(result)


class WithReason(CommandMeta):
    reason: Reason
