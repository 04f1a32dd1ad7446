"""``python -m bench.search [--quick]``: what a search costs against a plain lookup by id.

The search index (``projections/search``) filled directly — no log, no worker — with
100,000 relationships named as Chinese companies are (city, two characters of a trade
name, a trade, 有限公司; ``--quick``: 2,000) and three contacts each (a Chinese name, a
mobile number, an email), written by ``COPY`` as the writer would write them (its own
``entry_row``), the GIN index built after. Then, in interleaved rounds, each a few hundred
queries of every shape:

* **Chinese substring**: two characters of a trade name (华芯 in 苏州华芯电子有限公司);
* **pinyin initials**: the initials of a trade name and trade (``hxdz``);
* **phone**: a mobile number's last eight digits, spaced as people type them;
* **by id**: the same table's row by its primary key, the baseline;

each timed as one call of the query a request makes (``projections.search.queries.search``,
a page of 20, for staff of one branch), on one open connection. Printed: p50 and p99 of
each shape and their ratios to the lookup by id, and the plan of one search (the GIN index
finds the candidates).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from application.store.database import Database
from bench.database import server_conninfo, server_version, throwaway_database
from projections.freshness import ReadConnection
from projections.search.queries import SEARCH_SQL, SearchScope, search, search_parameters
from projections.search.text import pinyin_keys
from projections.search.writer import (
    ENTRY_COLUMNS,
    OWNER_COLUMNS,
    contact_entry_id,
    entry_row,
    relationship_entry_id,
)

CITIES = [
    "苏州", "昆山", "上海", "无锡", "常州", "南通", "杭州", "宁波", "嘉兴", "太仓",
    "张家港", "常熟", "吴江", "南京", "扬州", "镇江", "绍兴", "湖州", "合肥", "青岛",
]  # fmt: skip
TRADE_CHARS = (
    "华芯博睿瑞达宏远云帆新锐精密恒通鼎盛金诚天宇海纳永安嘉禾汇丰中科联创众信启明"
    "东方明珠长城泰和佳美世纪星辰鑫源立讯德力凯旋兴业同方宝丰利民信达顺昌"
)
TRADES = [
    "电子", "精密机械", "新材料科技", "化工", "医疗器械", "服饰", "物流", "贸易",
    "光电", "模具", "汽车零部件", "食品", "纺织", "包装材料", "照明科技", "智能装备",
]  # fmt: skip
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "进出口有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文斌宇浩凯鹏飞婷雪琳"
BRANCHES = ["Suzhou", "Shanghai", "Kunshan", "Wuxi", "Hangzhou", "Ningbo", "Nanjing", "Chicago"]
PAGE = 20


def company(rng: random.Random) -> tuple[str, str, str]:
    """A company's name, its trade name and its trade."""
    trade_name = "".join(rng.sample(TRADE_CHARS, 2))
    trade = rng.choice(TRADES)
    return f"{rng.choice(CITIES)}{trade_name}{trade}{rng.choice(SUFFIXES)}", trade_name, trade


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def mobile(rng: random.Random) -> str:
    prefix = f"1{rng.choice('3589')}{rng.randrange(10)}"
    return f"+86 {prefix} {rng.randrange(10**4):04d} {rng.randrange(10**4):04d}"


def fill(database: Database, relationships: int, rng: random.Random) -> dict[str, list[Any]]:
    """Fill the index; return what the queries look for (trade names, initials, phones) and
    the entry ids."""
    samples: dict[str, list[Any]] = {"trade": [], "initials": [], "phone": [], "ids": []}
    position = 0
    with database.connect() as conn, conn.cursor() as cursor:
        conn.execute("DROP INDEX search_entry_grams_idx")
        started = time.perf_counter()
        owners: list[tuple[Any, ...]] = []
        entries: list[tuple[Any, ...]] = []
        for n in range(relationships):
            rid = UUID(int=n + 1)
            name, trade_name, trade = company(rng)
            position += 1
            owners.append((rid, name, "customer", BRANCHES[n % len(BRANCHES)], position))
            row = entry_row(
                relationship_entry_id(rid),
                "relationship",
                rid,
                [name],
                created_position=position,
                position=position,
            )
            entries.append(tuple(row[c] for c in ENTRY_COLUMNS))
            if n % 50 == 0:
                samples["trade"].append(trade_name)
                samples["initials"].append(pinyin_keys(trade_name + trade)[-1])
                samples["ids"].append(row["entry_id"])
            for c in range(3):
                position += 1
                phone = mobile(rng)
                contact = person(rng)
                email = f"{pinyin_keys(contact)[0]}{rng.randrange(100)}@example.cn"
                cid = f"c{c}"
                row = entry_row(
                    contact_entry_id(rid, cid),
                    "contact",
                    rid,
                    [contact, phone, email],
                    created_position=position,
                    position=position,
                    contact_id=cid,
                )
                entries.append(tuple(row[c] for c in ENTRY_COLUMNS))
                if n % 50 == c:
                    digits = phone.replace(" ", "")[-8:]
                    samples["phone"].append(f"{digits[:4]} {digits[4:]}")
                    samples["ids"].append(row["entry_id"])
        made = time.perf_counter() - started
        started = time.perf_counter()
        with cursor.copy(f"COPY search_owner ({', '.join(OWNER_COLUMNS)}) FROM STDIN") as copy:
            for owner in owners:
                copy.write_row(owner)
        with cursor.copy(f"COPY search_entry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
            for entry in entries:
                copy.write_row(entry)
        copied = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("CREATE INDEX search_entry_grams_idx ON search_entry USING gin (grams)")
        conn.commit()
        conn.execute("ANALYZE search_owner")
        conn.execute("ANALYZE search_entry")
        conn.commit()
        indexed = time.perf_counter() - started
        size = conn.execute(
            "SELECT pg_size_pretty(pg_relation_size('search_entry_grams_idx'))"
        ).fetchone()
    print(f"  {relationships:,} relationships, {len(entries) - relationships:,} contacts: "
          f"rows made in {made:.1f} s, copied in {copied:.1f} s, GIN index built in "
          f"{indexed:.1f} s ({size[0] if size else '?'})")  # fmt: skip
    return samples


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


SCOPE = SearchScope(BRANCHES[0], frozenset({"partner", "competitor"}))
#: Queries most names hold: every match is ranked to answer the first page.
BROAD_QUERIES = ("有限公司", "苏州")


def searching(conn: ReadConnection, q: str) -> Callable[[], object]:
    """One search for ``q`` as staff of one branch, a page of ``PAGE``."""
    return lambda: search(conn, q, scope=SCOPE, kind=None, limit=PAGE, cursor=None)


def shapes(
    conn: ReadConnection, samples: dict[str, list[Any]], rng: random.Random
) -> Iterator[tuple[str, Callable[[], object]]]:
    """One query of each shape, in turn."""

    def by_id(entry_id: str) -> Callable[[], object]:
        return lambda: conn.execute(
            "SELECT * FROM search_entry WHERE entry_id = %s", (entry_id,)
        ).fetchone()

    yield "Chinese substring", searching(conn, rng.choice(samples["trade"]))
    yield "pinyin initials", searching(conn, rng.choice(samples["initials"]))
    yield "phone", searching(conn, rng.choice(samples["phone"]))
    yield "by id", by_id(rng.choice(samples["ids"]))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--quick", action="store_true", help="small sizes, two rounds")
    args = parser.parse_args()
    admin, where = server_conninfo()
    relationships = 2_000 if args.quick else 100_000
    rounds, per_round = (2, 50) if args.quick else (5, 200)
    rng = random.Random(14)
    print(f"Search, {where} (PostgreSQL {server_version(admin)}); {rounds} interleaved rounds "
          f"of {per_round} queries of each shape")  # fmt: skip
    with throwaway_database(admin) as database:
        samples = fill(database, relationships, rng)
        times: dict[str, list[float]] = {}
        with psycopg.connect(database.labelled("bench"), row_factory=dict_row) as conn:
            for _ in range(10):  # warm the caches
                for _, call in shapes(conn, samples, rng):
                    call()
            for _ in range(rounds):
                for _ in range(per_round):
                    for shape, call in shapes(conn, samples, rng):
                        times.setdefault(shape, []).append(timed(call))
            broad = {q: [timed(searching(conn, q)) for _ in range(5)] for q in BROAD_QUERIES}
            counts = hits(conn, samples)
            q = samples["trade"][0]
            parameters = search_parameters(q, scope=SCOPE, kind=None, limit=PAGE, cursor=None)
            plan = conn.execute("EXPLAIN " + SEARCH_SQL, parameters).fetchall()
    base50, base99 = percentile(times["by id"], 50), percentile(times["by id"], 99)
    print(f"  {'shape':<18} {'p50 ms':>8} {'p99 ms':>8} {'p50 ×id':>8} {'p99 ×id':>8}")
    for shape, values in times.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"  {shape:<18} {p50 * 1e3:8.3f} {p99 * 1e3:8.3f} "
              f"{p50 / base50:8.1f} {p99 / base99:8.1f}")  # fmt: skip
    print(f"  entries holding a sampled trade name (what one search ranks): median "
          f"{statistics.median(counts):,.0f}, max {max(counts):,}")  # fmt: skip
    for word, values in broad.items():
        print(f"  broad query {word!r} (every match ranked), median of 5: "
              f"{statistics.median(values) * 1e3:,.1f} ms")  # fmt: skip
    print(f"  plan of a search for {q}:")
    for line in plan:
        print("    " + str(line["QUERY PLAN"]))


def hits(conn: ReadConnection, samples: dict[str, list[Any]]) -> list[int]:
    """How many entries hold each sampled trade name's grams (what a search checks and
    ranks)."""
    counts = []
    for q in samples["trade"][:20]:
        row = conn.execute(
            "SELECT count(*) AS n FROM search_entry WHERE grams @> %s::text[]", ([q],)
        ).fetchone()
        counts.append(int(row["n"]) if row else 0)
    return counts


if __name__ == "__main__":
    main()
