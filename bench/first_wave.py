"""``python -m bench.first_wave OUT_DIR [--rounds R] [--seconds S]``: the command path of the
first wave's code (commit ``1fae83f``) against today's, side by side, under one driver.

Each round runs the first wave, then today's code (two rounds: before, after, before,
after), each the same way:

* a throwaway database on the server of ``$FULLCHAIN_DATABASE_URL`` (``bench.database``),
  its schema made and seeded by that code itself: an HQ staff member and token, 64
  customers, 50 interactions each (today's ``bench.http._seed``; the first wave's through
  its own service);
* that code's API process as it deploys on a server, ``fullchain serve --no-demo
  --no-workers``, and its projection workers in a process of their own (``fullchain
  project``), run from its own tree (the first wave's from a ``git worktree`` made for the
  run and removed after it);
* ``wrk`` at 16 connections cycling ``POST /v1/relationships/{id}/interactions`` over the
  64 customers with ``bench.http``'s body: 5 s to warm, then the measured run, and 2 s into
  it ``py-spy record --gil`` samples the API process (only while one of its threads runs
  Python) for ``--seconds``.

Written to OUT_DIR, per run: ``before-N.txt`` / ``after-N.txt`` (the collapsed stacks),
``before-N.svg`` / ``after-N.svg`` (their flame graphs). Printed: each run's requests/s,
p50 and p99, the API process's CPU per request the samples give, and where the samples
went: by the file of the innermost frame (self), and for a few parts any frame of the
stack (inclusive). Needs ``wrk`` and ``py-spy`` and the repository's history.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from application.store.integrity import new_signing_key_pem
from bench.database import server_conninfo, throwaway_database
from bench.http import BODY, _free_port, _process, _script

FIRST_WAVE = "1fae83f"
RATE = 250  # samples a second
ROOT = Path(__file__).resolve().parent.parent

#: Seeds the first wave's database through its own service; prints the token and the ids.
SEED_FIRST_WAVE = """
import json, os
from uuid import UUID, uuid4
from application.database import Database
from domain.relationship import Channel, Direction, RelationshipKind
from domain.staff import Role
from interface.runtime import Services, init_database

database = Database(os.environ["FULLCHAIN_DATABASE_URL"], embedded=False)
init_database(database)
services = Services.open(database)
try:
    app = services.app
    admin = app.context("admin")
    app.register_staff(admin, staff_id="bench.hq", name="Bench", branch="Headquarters")
    app.grant_role(admin, "bench.hq", role=Role.HQ)
    _, _, token = app.issue_staff_token(admin, "bench.hq", label="bench")
    ids = [
        str(app.register_relationship(
            app.context("bench.hq"), name=f"Customer {i}", kind=RelationshipKind.CUSTOMER,
            industry="electronics", region="East China", branch=f"Branch-{i % 4}",
        ).aggregate_id)
        for i in range(64)
    ]
    for rid in ids:
        for n in range(50):
            app.log_interaction(
                app.context("bench.hq"), UUID(rid), interaction_id=uuid4(),
                channel=Channel.CALL, direction=Direction.OUTBOUND,
                summary=f"Weekly allocation call {n}",
            )
finally:
    services.close()
print(json.dumps({"token": token, "ids": ids}))
"""

#: Seeds today's database as ``bench.http`` does.
SEED_TODAY = """
import json, os
from application.store.database import Database
from bench.http import _seed
from interface.runtime import init_database

database = Database(os.environ["FULLCHAIN_DATABASE_URL"], embedded=False)
init_database(database)
token, ids = _seed(database)
print(json.dumps({"token": token, "ids": ids}))
"""

# --- where the samples went -------------------------------------------------------------

WEB = {"uvicorn", "starlette", "fastapi", "h11", "httptools", "anyio", "sniffio"}
PROJECT = ("interface", "application", "domain", "projections")
CATEGORIES = (
    "web stack",
    *(f"{p}/" for p in PROJECT),
    "psycopg",
    "eventsourcing",
    "pydantic",
    "logging",
    "json",
    "thread hand-offs",
    "other",
)
INCLUSIVE = ("interface/", "application/", "psycopg", "eventsourcing")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_STDLIB = re.compile(r"/lib/python3\.\d+/(?P<rest>.+)$")
#: What a frame's file says before the part that names it, left out of the graph's labels.
_SHORTER = re.compile(
    r"(?<=\()[^()]*?(?:site-packages/|/lib/python3\.\d+/(?!site-packages)"
    r"|/(?=(?:interface|application|domain|projections)/))"
)


def category(frame: str) -> str:
    """The part of the stack a frame (``function (file:line)``) belongs to."""
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    if "site-packages/" in path:
        top = path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        if top in WEB:
            return "web stack"
        if top.startswith("psycopg"):
            return "psycopg"
        if top == "eventsourcing":
            return "eventsourcing"
        if top.startswith("pydantic"):
            return "pydantic"
        return "other"
    stdlib = _STDLIB.search(path)
    if stdlib is not None or path.startswith("<frozen "):
        rest = stdlib.group("rest") if stdlib else path
        top = rest.split("/", 1)[0]
        if top == "asyncio" or rest == "selectors.py":
            return "web stack"
        if top in ("logging", "json"):
            return top
        if rest in ("threading.py", "queue.py") or rest.startswith("concurrent/"):
            return "thread hand-offs"
        return "other"
    for part in PROJECT:
        if f"/{part}/" in path or path.startswith(f"{part}/"):
            return f"{part}/"
    return "other"


def load_stacks(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's collapsed stacks: ``frame;frame;…;leaf COUNT`` a line. (Split on newlines
    only: a frame read from a running process may hold other line breaks.)"""
    stacks = []
    for line in path.read_text(errors="replace").split("\n"):
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


@dataclass
class Shares:
    samples: int
    own: Counter[str]
    inclusive: Counter[str]


def shares(stacks: list[tuple[list[str], int]]) -> Shares:
    """Samples by the category of their innermost frame, and by every category any of their
    frames has (the process's entry, ``interface/cli.py``, at the root of every stack of
    the event loop, left out)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        own[category(frames[-1])] += count
        kept = [f for f in frames if "interface/cli.py" not in f]
        for part in {category(f) for f in kept}:
            inclusive[part] += count
    return Shares(sum(c for _, c in stacks), own, inclusive)


def flame_svg(stacks: list[tuple[list[str], int]], title: str, width: int = 1600) -> str:
    """A flame graph of collapsed stacks: each frame a box as wide as its samples, its
    callers below it; hover for the frame and its share."""
    tree: dict[str, object] = {}
    counts: dict[tuple[str, ...], int] = Counter()
    for frames, count in stacks:
        for depth in range(1, len(frames) + 1):
            counts[tuple(frames[:depth])] += count
        node = tree
        for frame in frames:
            node = node.setdefault(frame, {})  # type: ignore[assignment]
    total = sum(c for _, c in stacks) or 1
    row, top = 16, 40
    deepest = max((len(f) for f, _ in stacks), default=0)
    height = top + row * (deepest + 1) + 10
    boxes: list[str] = []

    def draw(node: dict[str, object], path: tuple[str, ...], x: float, depth: int) -> None:
        for frame in sorted(node):
            here = (*path, frame)
            w = counts[here] / total * (width - 20)
            if w >= 1.0:
                y = height - 10 - row * (depth + 1)
                part = category(frame)
                hue = {"web stack": 30, "psycopg": 200, "eventsourcing": 280}.get(part, 0)
                hue = 120 if part.endswith("/") else hue
                short = _SHORTER.sub("", frame)
                label = html.escape(short)
                share = f"{100 * counts[here] / total:.2f}%"
                text = html.escape(short[: int(w / 7)]) if w > 35 else ""
                boxes.append(
                    f"<g><title>{label} ({counts[here]} samples, {share})</title>"
                    f'<rect x="{x + 10:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                    f'fill="hsl({hue},70%,{60 + depth % 3 * 6}%)"/>'
                    f'<text x="{x + 13:.1f}" y="{y + 11}">{text}</text></g>'
                )
                draw(node[frame], here, x, depth + 1)  # type: ignore[arg-type]
            x += w

    draw(tree, (), 0.0, 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="monospace" font-size="11">'
        f'<text x="10" y="20" font-size="14">{html.escape(title)}</text>'
        + "".join(boxes)
        + "</svg>\n"
    )


# --- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    shares: Shares
    seconds: int

    @property
    def cpu_ms(self) -> float:
        """The API process's CPU per request the samples give: the time its threads ran
        Python while it was sampled, over the requests answered meanwhile."""
        return self.shares.samples / RATE * 1000 / (self.rps * self.seconds)


def _milliseconds(text: str) -> float:
    value = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if value is None:
        return float("nan")
    return float(value.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[value.group(2)]


def run_one(
    name: str, code: Path, seed: str, admin: str, out: Path, seconds: int, py_spy: str
) -> Run:
    # Each code makes its own schema.
    with throwaway_database(admin, schema=False) as database, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(code),
            "FULLCHAIN_DATABASE_URL": database.conninfo,
            "FULLCHAIN_SIGNING_KEY": new_signing_key_pem(),
        }
        python = sys.executable
        seeded = subprocess.run(
            [python, "-c", seed], cwd=code, env=env, check=True, capture_output=True, text=True
        ).stdout
        given = json.loads(seeded.strip().splitlines()[-1])
        paths = [f"/v1/relationships/{i}/interactions" for i in given["ids"]]
        script = _script(Path(tmp), "commands", "POST", paths, given["token"], BODY)
        port = _free_port()
        serve = [python, "-m", "interface.cli", "serve", "--host", "127.0.0.1"]
        serve += ["--port", str(port), "--no-demo", "--no-workers"]
        project = [python, "-m", "interface.cli", "project"]
        with _process(serve, env, port, code) as api, _process(project, env, None, code):
            url = f"http://127.0.0.1:{port}"
            wrk = ["wrk", "-t2", "-c16", "--latency", "-s", str(script)]
            subprocess.run([*wrk, "-d5s", url], check=True, capture_output=True)  # warm
            load = subprocess.Popen([*wrk, f"-d{seconds + 4}s", url], stdout=subprocess.PIPE)
            time.sleep(2)  # the load is on before sampling starts
            stacks_file = out / f"{name}.txt"
            spy = [py_spy, "record", "--nonblocking", "--gil", "--rate", str(RATE)]
            spy += ["--duration", str(seconds), "--full-filenames", "--format", "raw"]
            subprocess.run(
                [*spy, "-p", str(api.pid), "-o", str(stacks_file)], check=True, capture_output=True
            )
            output = load.communicate()[0].decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s*(50|99)%\s+(\S+)", output, re.MULTILINE))
    stacks = load_stacks(stacks_file)
    what = "the first wave (1fae83f)" if code != ROOT else "today's code"
    title = f"API process under commands at c=16, {what}: {name}, {rps:.0f} requests/s"
    (out / f"{name}.svg").write_text(flame_svg(stacks, title))
    return Run(
        name,
        rps,
        _milliseconds(latency.get("50", "")),
        _milliseconds(latency.get("99", "")),
        shares(stacks),
        seconds,
    )


@contextmanager
def first_wave_tree() -> Iterator[Path]:
    """The first wave's code, checked out beside this one for the run."""
    folder = Path(tempfile.mkdtemp(prefix="fullchain-first-wave-")) / "code"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(folder), FIRST_WAVE],
        check=True,
        capture_output=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder.parent, ignore_errors=True)


def report(runs: list[Run]) -> None:
    names = " ".join(f"{r.name:>10}" for r in runs)
    print(f"{'':<28}{names}")
    print(f"{'requests/s':<28}" + " ".join(f"{r.rps:>10,.0f}" for r in runs))
    print(f"{'p50 / p99 ms':<28}" + " ".join(f"{r.p50_ms:>4.0f}/{r.p99_ms:<5.0f}" for r in runs))
    print(f"{'API CPU per request, ms':<28}" + " ".join(f"{r.cpu_ms:>10.2f}" for r in runs))
    print(f"{'samples':<28}" + " ".join(f"{r.shares.samples:>10}" for r in runs))
    print("\nshare of samples by the innermost frame's part:")
    for part in CATEGORIES:
        print(
            f"  {part:<26}"
            + " ".join(
                f"{100 * r.shares.own[part] / max(r.shares.samples, 1):>9.1f}%" for r in runs
            )
        )
    print("share of samples with a frame of (inclusive):")
    for part in INCLUSIVE:
        print(
            f"  {part:<26}"
            + " ".join(
                f"{100 * r.shares.inclusive[part] / max(r.shares.samples, 1):>9.1f}%" for r in runs
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_wave")
    parser.add_argument("out", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if shutil.which("wrk") is None or not Path(py_spy).exists():
        print("bench.first_wave needs wrk (apt-get install wrk) and py-spy (pip install py-spy)")
        return
    admin, where = server_conninfo()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"commands over HTTP at c=16, the first wave against today, {where}")
    runs: list[Run] = []
    with first_wave_tree() as before:
        for n in range(1, args.rounds + 1):
            for name, code, seed in (
                ("before", before, SEED_FIRST_WAVE),
                ("after", ROOT, SEED_TODAY),
            ):
                runs.append(
                    run_one(f"{name}-{n}", code, seed, admin, args.out, args.seconds, py_spy)
                )
                print(f"{runs[-1].name}: {runs[-1].rps:,.0f} requests/s", flush=True)
    print()
    report(runs)
    print(f"\nflame graphs and collapsed stacks in {args.out}")


if __name__ == "__main__":
    main()
