"""Progress bars on standard error for the command line's long walks, and their verdicts.

The walks (``application.progress``) tell a ``Progress`` how far they are; ``ProgressBars``
draws that with tqdm, one bar a stage (the hash chain, the access log, the tree, a read
model, …), each closed when the next stage begins or the walk ends, so what a command
prints on standard output between two walks starts on a line of its own. Bars are drawn
when standard error is a terminal or ``--progress`` asks for them, never with ``--quiet``;
standard output never carries them. A command ends with one line ``verdict: …``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from application.progress import Progress

if TYPE_CHECKING:
    from tqdm import tqdm


class ProgressBars:
    """A ``Progress`` drawing one bar a stage on ``stream``: done of total and the rate,
    or a counter where the total is not known. tqdm redraws at most every
    ``mininterval`` seconds, and always once more when a bar closes, at its last count."""

    def __init__(self, stream: TextIO, *, mininterval: float = 0.1) -> None:
        self.stream = stream
        self.mininterval = mininterval
        self.stage: str | None = None
        self.bar: tqdm[Any] | None = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.bar is None or stage != self.stage:
            from tqdm import tqdm  # imported by the commands that draw bars only

            self.close()
            self.stage = stage
            self.bar = tqdm(
                total=total,
                desc=stage,
                unit=" entries",
                file=self.stream,
                dynamic_ncols=True,
                mininterval=self.mininterval,
            )
        bar = self.bar
        if total is not None and total < done:
            total = done  # the log grew while it was walked
        if total != bar.total:
            bar.total = total
        if done > bar.n:
            bar.update(done - bar.n)

    def close(self) -> None:
        """End the current stage's bar (drawn once more, at its last count)."""
        if self.bar is not None:
            self.bar.close()
        self.bar = None
        self.stage = None

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def add_progress_options(parser: argparse.ArgumentParser) -> None:
    """``--progress`` and ``--quiet``, for a command that walks the log."""
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        action="store_true",
        help="show progress on standard error even when it is not a terminal",
    )
    shown.add_argument("--quiet", action="store_true", help="no progress")


def wants_progress(args: argparse.Namespace, stream: TextIO) -> bool:
    """Whether to draw bars on ``stream``: asked for, or a terminal; never with --quiet."""
    if getattr(args, "quiet", False):
        return False
    return bool(getattr(args, "progress", False)) or stream.isatty()


@contextmanager
def showing_progress(
    args: argparse.Namespace, stream: TextIO | None = None
) -> Iterator[Progress | None]:
    """Bars on ``stream`` (standard error) for the walks inside, closed at the end; None
    (the walks tell nobody) when the command's options and the stream say not to."""
    stream = stream or sys.stderr
    if not wants_progress(args, stream):
        yield None
        return
    with ProgressBars(stream) as bars:
        yield bars


def verdict(text: str, stream: TextIO | None = None) -> None:
    """A command's last line: ``verdict: <text>``."""
    print(f"verdict: {text}", file=stream or sys.stderr, flush=True)
