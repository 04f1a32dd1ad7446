"""The anchor of the HTTP benchmark: a bare FastAPI app with the service's uvicorn
settings, whose POST does one INSERT (autocommit) through a psycopg pool and whose GET one
primary-key SELECT. What any service of this stack costs at the least.

``python -m bench.anchor --port P --database URL``
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from psycopg_pool import ConnectionPool

TABLE = "bench_anchor"


def create_anchor(conninfo: str) -> FastAPI:
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo, min_size=4, max_size=16, kwargs={"autocommit": True}, open=True
    )
    with pool.connection() as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, state jsonb NOT NULL)"
        )
    app = FastAPI(title="anchor")

    @app.post("/anchor")
    def write(body: dict[str, Any]) -> dict[str, int]:
        with pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {TABLE} (state) VALUES (%s) RETURNING id", (json.dumps(body),)
            ).fetchone()
        assert row is not None
        return {"id": int(row[0])}

    @app.get("/anchor/{row_id}")
    def read(row_id: int) -> dict[str, Any]:
        with pool.connection() as conn:
            row = conn.execute(f"SELECT id, state FROM {TABLE} WHERE id = %s", (row_id,)).fetchone()
        if row is None:
            raise HTTPException(404)
        return {"id": row[0], "state": row[1]}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.anchor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    # The service's uvicorn settings (interface.cli serve): the same logging, one worker.
    uvicorn.run(create_anchor(args.database), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
