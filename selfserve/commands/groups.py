"""Command groups that hand their commands what they need as click's context object.

The commands themselves are module-level and take that object with `click.pass_obj`; the group
is built per app by `group_with`, so each app's commands reach that app's services even when
tests build several apps in one process.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click


def group_with(
    name: str, help_text: str, obj: object, commands: Iterable[click.Command]
) -> click.Group:
    """The command group `name` whose `commands` receive `obj` (via `click.pass_obj`)."""

    @click.pass_context
    def hand_over(ctx: click.Context) -> None:
        ctx.obj = obj

    return click.Group(name, commands=list(commands), callback=hand_over, help=help_text)


def write_output(file: str | None, text: str, *, wrote: str = "", to_stderr: bool = True) -> None:
    """Write a command's output to FILE, or to standard output without one; then say so
    (`wrote`, default "wrote FILE"), on standard error unless `to_stderr` is False."""
    if file is None:
        click.echo(text, nl=False)
        return
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write {file}: {error}") from None
    click.echo(wrote or f"wrote {file}", err=to_stderr)
