"""``python -m bench.flame OUT.svg [--seconds S] [--reads status|list|history] [--cpu]``: a
flame graph of the API process (with ``--cpu``, of its threads while they run Python, not
while they wait).

The service as ``bench.http`` runs it (``fullchain serve --no-workers`` and ``fullchain
project``, each a process of its own, on a throwaway database) under ``wrk`` at 16
connections: commands (``POST …/interactions`` over 64 customers), or with ``--reads``
the reads of ``bench.http``: account status, a filtered list page or a history page.
``py-spy`` (``pip install py-spy``) samples the API process for ``--seconds`` without
pausing it and writes the flame graph to ``OUT.svg`` (to ``OUT.txt``: the collapsed
stacks, one line per stack with its count, to read or to sum up by function).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from application.store.integrity import new_signing_key_pem
from bench.database import server_conninfo, throwaway_database
from bench.http import BODY, HISTORY_PAGE, _free_port, _process, _script, _seed, _wrk


def record(out: Path, seconds: int, reads: str | None, cpu: bool = False) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if shutil.which("wrk") is None or not Path(py_spy).exists():
        print("bench.flame needs wrk (apt-get install wrk) and py-spy (pip install py-spy)")
        return
    admin, where = server_conninfo()
    with throwaway_database(admin) as database, tempfile.TemporaryDirectory() as tmp:
        token, ids = _seed(database)
        env = {
            **os.environ,
            "FULLCHAIN_DATABASE_URL": database.conninfo,
            "FULLCHAIN_SIGNING_KEY": new_signing_key_pem(),
        }
        if reads:
            paths = {
                "status": [f"/v1/relationships/{i}" for i in ids],
                "list": [
                    f"/v1/relationships?kind=customer&branch=Branch-{n}&limit=50" for n in range(4)
                ],
                "history": [f"/v1/relationships/{i}/history?limit={HISTORY_PAGE}" for i in ids],
            }[reads]
            script = _script(Path(tmp), "reads", "GET", paths, token, None)
        else:
            paths = [f"/v1/relationships/{i}/interactions" for i in ids]
            script = _script(Path(tmp), "commands", "POST", paths, token, BODY)
        port = _free_port()
        serve = [sys.executable, "-m", "interface.cli", "serve", "--host", "127.0.0.1"]
        serve += ["--no-demo", "--no-workers", "--port", str(port)]
        worker = [sys.executable, "-m", "interface.cli", "project"]
        with _process(serve, env, port) as api, _process(worker, env, None):
            url = f"http://127.0.0.1:{port}"
            _wrk(url, script, 16, 3)  # warm
            load = subprocess.Popen(
                ["wrk", "-t1", "-c16", f"-d{seconds + 4}s", "-s", str(script), url],
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(2)  # the load is on before sampling starts
            sample = ["--nonblocking", "-r", "200", "-d", str(seconds), "-p", str(api.pid)]
            if cpu:
                sample.append("--gil")  # only the thread running Python: where CPU goes
            # OUT.txt: the collapsed stacks (one line per stack and its count) instead.
            shape = ["--format", "raw"] if out.suffix == ".txt" else []
            subprocess.run(
                [py_spy, "record", *sample, *shape, "-o", str(out)],
                check=True,
                capture_output=True,
            )
            output, _ = load.communicate()
        rate = next(line for line in output.splitlines() if "Requests/sec" in line)
        print(f"{out}: the API process, {where}; {rate.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flame")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--reads", choices=("status", "list", "history"), help="reads instead")
    parser.add_argument(
        "--cpu", action="store_true", help="sample only the thread holding the GIL, not waits"
    )
    args = parser.parse_args()
    record(args.out, args.seconds, args.reads, args.cpu)


if __name__ == "__main__":
    main()
