"""The branches tests name, registered before each test as an administrator would register
a company's branches before anyone works in them."""

from __future__ import annotations

import contextlib

from application.commands import AlreadyExists
from interface.runtime import Services

#: code, Chinese name, English name, region, time zone, currency.
TEST_BRANCHES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Headquarters", "总部", "Headquarters", "East China", "Asia/Shanghai", "CNY"),
    ("Suzhou", "苏州分公司", "Suzhou Branch", "East China", "Asia/Shanghai", "CNY"),
    ("Shanghai", "上海分公司", "Shanghai Branch", "East China", "Asia/Shanghai", "CNY"),
    ("Shenzhen", "深圳分公司", "Shenzhen Branch", "South China", "Asia/Shanghai", "CNY"),
    ("Beijing", "北京分公司", "Beijing Branch", "North China", "Asia/Shanghai", "CNY"),
    ("Kunming", "昆明分公司", "Kunming Branch", "Southwest China", "Asia/Shanghai", "CNY"),
    ("Chicago", "芝加哥办事处", "Chicago Office", "North America", "America/Chicago", "USD"),
)


def register_test_branches(services: Services) -> None:
    app = services.app
    for code, name_zh, name_en, region, zone, currency in TEST_BRANCHES:
        with contextlib.suppress(AlreadyExists):
            app.branches.register_branch(
                app.context("system"),
                code=code,
                name_zh=name_zh,
                name_en=name_en,
                region=region,
                time_zone=zone,
                currency=currency,
            )


#: The events registering them: the first positions of every test's log.
BRANCH_EVENTS = len(TEST_BRANCHES)
