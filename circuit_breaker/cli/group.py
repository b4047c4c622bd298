"""The ``breaker`` command group: global options accepted after the subcommand, and every failure in one line.

Like the aws CLI (``aws s3 ls --profile x``), ``breaker status --local`` means ``breaker --local
status``: a global option given after the subcommand is moved in front of it, unless the
subcommand has an option of that name itself (``local up --region`` is the engine's region).
Whatever goes wrong while a command runs (AWS configuration, nothing deployed, a refused operator
action, an AWS error) is printed as one ``error:`` line saying what to do, never a traceback
(``BREAKER_DEBUG=1`` shows it).
"""

from __future__ import annotations

import os
from typing import Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from typer.core import TyperGroup

from circuit_breaker.aws.connection import AwsSetupError, explain
from circuit_breaker.aws.deployment import DeploymentNotFoundError
from circuit_breaker.cli.render import console, error_line
from circuit_breaker.operate.errors import OperatorError

#: Errors whose message already says what to do: printed as they are, exit status 2.
EXPLAINED_ERRORS = (AwsSetupError, DeploymentNotFoundError, OperatorError)


def fail(message: str, hint: str | None = None, code: int = 2) -> typer.Exit:
    """Print an error (and what to do about it) to stderr; return the exit to raise."""
    console(stderr=True).print(error_line(message, hint), soft_wrap=True)
    return typer.Exit(code)


def _option_names(command: Any) -> tuple[set[str], set[str]]:
    """The names of ``command``'s options that take a value, and of its flags."""
    valued: set[str] = set()
    flags: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            names = set(param.opts) | set(param.secondary_opts)
            (flags if param.is_flag or param.count else valued).update(names)
    return valued, flags


def _subcommands(command: Any) -> dict[str, Any]:
    return getattr(command, "commands", None) or {}


def hoist_global_options(group: Any, args: list[str]) -> list[str]:
    """Move ``group``'s own options found after the subcommand in front of it (unless the subcommand has them too)."""
    valued, flags = _option_names(group)
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "--":
        index += 2 if args[index] in valued else 1
    if index >= len(args) or args[index] not in _subcommands(group):
        return args
    command = _subcommands(group)[args[index]]
    end = index + 1
    own_valued, own_flags = _option_names(command)
    while end < len(args) and args[end] in _subcommands(command):
        command = _subcommands(command)[args[end]]
        end += 1
        more_valued, more_flags = _option_names(command)
        own_valued, own_flags = own_valued | more_valued, own_flags | more_flags
    moved: list[str] = []
    kept: list[str] = []
    position = end
    while position < len(args):
        token = args[position]
        name, has_value = token.split("=", 1)[0], "=" in token
        if token == "--":
            kept.extend(args[position:])
            break
        if name in own_valued and not has_value:
            kept.extend(args[position : position + 2])  # the command's own option and its value, whatever it looks like
            position += 2
        elif name in valued and name not in own_valued:
            take = 1 if has_value or position + 1 >= len(args) else 2
            moved.extend(args[position : position + take])
            position += take
        elif token in flags and token not in own_flags:
            moved.append(token)
            position += 1
        else:
            kept.append(token)
            position += 1
    return args[:index] + moved + args[index:end] + kept


def report(error: Exception, connection: Any = None) -> typer.Exit:
    """Print ``error`` as one line with its fix; return the exit to raise."""
    if isinstance(error, EXPLAINED_ERRORS):
        return fail(str(error))
    if isinstance(error, (ClientError, BotoCoreError)):
        return fail(str(explain(error, connection)))
    return fail(f"unexpected {type(error).__name__}: {error}", "this is a bug; rerun with BREAKER_DEBUG=1 to see where", code=1)


class BreakerGroup(TyperGroup):
    """A typer group with global options anywhere and one-line errors."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(self, list(args)))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as error:  # noqa: BLE001 - the one place every failure becomes a line, not a traceback
            if os.environ.get("BREAKER_DEBUG"):
                raise
            made = getattr(ctx.obj, "connection_if_made", None)
            raise report(error, made() if callable(made) else None) from None
