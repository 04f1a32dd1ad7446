"""The branches a benchmark's data names, registered as an administrator would first."""

from __future__ import annotations

import contextlib

from application.commands import AlreadyExists
from application.service import Fullchain


def register_branches(app: Fullchain, *codes: str) -> None:
    for code in codes:
        with contextlib.suppress(AlreadyExists):
            app.branches.register_branch(
                app.context("bench.admin"),
                code=code,
                name_zh=code,
                name_en=code,
                region="East China",
                time_zone="Asia/Shanghai",
                currency="CNY",
            )
