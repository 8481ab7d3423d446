"""Progress of long commands: a bar on a terminal, silence elsewhere, and Ctrl-C turned
into a clean cancel.

The library reports progress by calling a function with the fraction done (0..1) and cleans
up after itself when interrupted (outputs are staged under a temporary name and moved into
place only when complete). This module gives commands that function -- None when stderr is
not a terminal, so pipes and logs stay clean -- and turns the ``KeyboardInterrupt`` of a
Ctrl-C into one line saying what was (not) left behind, with exit status 130 (the shell's
convention for SIGINT).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

#: Steps of the bar; fractions are rounded to this many.
STEPS = 1000

Progress = Callable[[float], None]


class Cancelled(click.ClickException):
    """The user pressed Ctrl-C; the message says what was left behind."""

    exit_code = 130

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Cancelled: {self.format_message()}", err=file is None, file=file)


@contextmanager
def progress_bar(label: str, *, cancelled: str, stream: IO[str] | None = None
                 ) -> Iterator[Progress | None]:
    """A progress callback for the work inside the ``with`` block.

    Parameters
    ----------
    label
        What is being done, shown before the bar ("Translating", "Building pyramid").
    cancelled
        What a Ctrl-C leaves behind, said in the cancel message ("nothing was written").
    stream
        Where the bar goes; default stderr. No bar (the callback is None) unless it is a
        terminal.

    Raises
    ------
    Cancelled
        On Ctrl-C (``KeyboardInterrupt``) inside the block.
    """
    out = stream if stream is not None else sys.stderr
    interactive = hasattr(out, "isatty") and out.isatty()
    try:
        if not interactive:
            yield None
            return
        with click.progressbar(length=STEPS, label=label, file=out, show_eta=True,
                               show_percent=True) as bar:
            def update(fraction: float) -> None:
                step = min(STEPS, max(0, round(fraction * STEPS)))
                if step > bar.pos:
                    bar.update(step - bar.pos)
            yield update
    except KeyboardInterrupt:
        raise Cancelled(cancelled) from None
