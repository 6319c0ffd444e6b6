"""The command line's own words in Vietnamese: help pages, usage lines and framework errors.

Typer writes its help pages and its parsing errors ("Usage", "Options", "No such option",
"Missing option", "Try ... for help") in English, and the click it ships has no translation
hook for them. Here the command and group classes draw their own help pages (rich panels,
Vietnamese headings and metavars) and the top-level group turns every parsing error into one
Vietnamese line, chosen by the exception's type and fields rather than by its English text.
`VietnameseTyper` is a `typer.Typer` whose groups and commands are these classes.
"""

from __future__ import annotations

import difflib
import io
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from typer import _click as click
from typer._click.exceptions import UsageError
from typer.core import TyperArgument, TyperCommand, TyperGroup
from typer.exceptions import Abort

HELP_OPTION_TEXT = "Hiện hướng dẫn này rồi thoát."
OPTIONS_METAVAR = "[TÙY CHỌN]"
COMMAND_METAVAR = "LỆNH [ĐỐI SỐ]..."
# What a value of each type is called in the help pages.
TYPE_METAVARS: dict[type, str] = {str: "CHỮ", int: "SỐ", float: "SỐ", Path: "TỆP"}


# ---------------------------------------------------------------------- help pages
def _annotation(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    # list[Path] and Path | None: the element type names the value.
    for inner in getattr(annotation, "__args__", ()) or ():
        if inner is not type(None):
            return inner
    return annotation


def metavar_of(param: Any) -> str:
    """Return the Vietnamese name of the value a parameter takes ("" for a flag)."""
    if getattr(param, "is_flag", False):
        return ""
    if getattr(param, "metavar", None):
        return str(param.metavar)
    if isinstance(param, TyperArgument):
        return str(param.name or "").upper()
    return TYPE_METAVARS.get(_annotation(param), "GIÁ TRỊ")


def usage_of(command: click.Command, ctx: click.Context) -> str:
    """Return the usage line, e.g. "tamtu ingest [TÙY CHỌN] PATHS..."."""
    pieces = [OPTIONS_METAVAR]
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            piece = metavar_of(param) + ("..." if param.nargs == -1 else "")
            pieces.append(piece if param.required else f"[{piece}]")
    if isinstance(command, click.Command) and hasattr(command, "commands"):
        pieces.append(COMMAND_METAVAR)
    return f"{ctx.command_path} {' '.join(pieces)}"


def _markup(text: str) -> Text:
    # Help texts may use rich markup (as in Typer's rich mode); a stray bracket stays as written.
    from rich.errors import MarkupError

    try:
        return Text.from_markup(" ".join(text.split()))
    except MarkupError:
        return Text(" ".join(text.split()))


def _default_text(param: Any) -> str | None:
    default = getattr(param, "default", None)
    if default is None or getattr(param, "is_flag", False) or not getattr(param, "show_default",
                                                                           True):
        return None
    if isinstance(default, (list, tuple)):
        return ", ".join(map(str, default)) or None
    return str(default)


def _param_rows(params: Sequence[Any]) -> Table:
    rows = Table.grid(padding=(0, 2))
    rows.add_column(style="bold cyan", no_wrap=True)
    rows.add_column(style="yellow", no_wrap=True)
    rows.add_column()
    for param in params:
        if isinstance(param, TyperArgument):
            name = metavar_of(param) + ("..." if param.nargs == -1 else "")
            kind = ""
        else:
            name = ", ".join([*param.opts, *param.secondary_opts])
            kind = metavar_of(param)
        text = _markup(param.help or "")
        if (default := _default_text(param)) is not None:
            text.append(f" [mặc định: {default}]", style="dim")
        if param.required:
            text.append(" [bắt buộc]", style="red")
        rows.add_row(name, kind, text)
    return rows


def _command_rows(group: Any, ctx: click.Context) -> Table:
    rows = Table.grid(padding=(0, 2))
    rows.add_column(style="bold cyan", no_wrap=True)
    rows.add_column()
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        rows.add_row(name, _markup(command.get_short_help_str(limit=90)))
    return rows


def _console(file: Any) -> Console:
    width = min(shutil.get_terminal_size((100, 24)).columns, 110)
    return Console(file=file, width=width, highlight=False, soft_wrap=False,
                   force_terminal=sys.stdout.isatty(), emoji=False)


def render_help(command: Any, ctx: click.Context) -> str:
    """Return the help page of a command or group, in Vietnamese."""
    buffer = io.StringIO()
    console = _console(buffer)
    console.print(Text.assemble(("Cách dùng: ", "bold"), usage_of(command, ctx)))
    if command.help:
        console.print()
        for paragraph in command.help.split("\n\n"):
            console.print(_markup(paragraph))
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if isinstance(p, TyperArgument)]
    options = [p for p in params if not isinstance(p, TyperArgument)]
    panels = []
    if arguments:
        panels.append(Panel(_param_rows(arguments), title="Đối số", title_align="left",
                            border_style="dim"))
    if options:
        panels.append(Panel(_param_rows(options), title="Tùy chọn", title_align="left",
                            border_style="dim"))
    if hasattr(command, "commands"):
        panels.append(Panel(_command_rows(command, ctx), title="Lệnh", title_align="left",
                            border_style="dim"))
    if panels:
        console.print()
        console.print(Group(*panels))
    return buffer.getvalue()


class _VietnameseHelp:
    """Help page, usage line and --help option of a command, in Vietnamese."""

    def get_help_option(self, ctx: click.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write(f"Cách dùng: {usage_of(self, ctx)}\n")  # type: ignore[arg-type]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write(render_help(self, ctx))


class VietnameseCommand(_VietnameseHelp, TyperCommand):
    """A command whose help page is in Vietnamese."""


# ---------------------------------------------------------------------- errors
def _option_name(param: Any) -> str:
    if param is None:
        return ""
    if isinstance(param, TyperArgument):
        return metavar_of(param)
    return "/".join(param.opts) or str(param.name)


_PATH_PROBLEMS = (
    (re.compile(r"does not exist"), "không tồn tại"),
    (re.compile(r"is a file"), "là một tệp, cần một thư mục"),
    (re.compile(r"is a directory"), "là một thư mục, cần một tệp"),
    (re.compile(r"is not readable"), "không đọc được (thiếu quyền)"),
    (re.compile(r"is not writable"), "không ghi được (thiếu quyền)"),
)


def _invalid_value(error: Any) -> str:
    """Say why a value was refused: from the validation error behind it when there is one."""
    cause = error.__cause__
    problems = cause.errors() if hasattr(cause, "errors") else []
    if problems:
        problem = problems[0]
        kind, given = problem.get("type", ""), problem.get("input")
        limits = problem.get("ctx") or {}
        if kind in ("int_parsing", "int_from_float", "int_type"):
            return f"'{given}' không phải là một số nguyên"
        if kind in ("float_parsing", "float_type"):
            return f"'{given}' không phải là một số"
        if kind == "bool_parsing":
            return f"'{given}' không phải là có/không"
        bounds = {"greater_than_equal": "phải từ {ge} trở lên", "greater_than": "phải lớn hơn {gt}",
                  "less_than_equal": "phải từ {le} trở xuống", "less_than": "phải nhỏ hơn {lt}"}
        if kind in bounds:
            return f"'{given}' {bounds[kind].format(**limits)}"
        if kind in ("enum", "literal_error"):
            return f"'{given}' không có; chọn một trong: {limits.get('expected', '')}"
        return f"'{given}' không hợp lệ"
    message = str(error.message)
    for pattern, words in _PATH_PROBLEMS:
        if pattern.search(message):
            quoted = re.search(r"'([^']*)'", message)
            return f"'{quoted.group(1) if quoted else message}' {words}"
    return message


def explain(error: click.ClickException) -> str:
    """Return a framework error as one Vietnamese sentence (without the "Lỗi:" lead)."""
    exceptions = click.exceptions
    if isinstance(error, exceptions.NoSuchOption):
        guesses = sorted(error.possibilities or [])
        hint = f"; có phải ý là {' hoặc '.join(guesses)}?" if guesses else ""
        return f"không có tùy chọn {error.option_name}{hint}"
    if isinstance(error, exceptions.MissingParameter):
        param = error.param
        kind = "đối số" if isinstance(param, TyperArgument) else "tùy chọn"
        about = f" ({' '.join(param.help.split())})" if param is not None and param.help else ""
        return f"thiếu {kind} {_option_name(param)}{about}"
    if isinstance(error, exceptions.BadParameter):
        name = _option_name(error.param) or error.param_hint or ""
        return f"giá trị không hợp lệ cho {name}: {_invalid_value(error)}".replace(
            "cho : ", ": ")
    if isinstance(error, exceptions.BadOptionUsage):
        if "does not take" in error.message:
            return f"tùy chọn {error.option_name} không nhận giá trị"
        count = re.search(r"requires (\d+)", error.message)
        return f"tùy chọn {error.option_name} cần {count.group(1) if count else 'một'} giá trị"
    if isinstance(error, exceptions.BadArgumentUsage):
        count = re.search(r"takes (\d+)", error.message)
        return f"đối số cần {count.group(1) if count else 'đủ'} giá trị"
    message = str(error.message)
    extra = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message)
    if extra:
        return f"thừa đối số: {extra.group(1)}"
    if message.startswith("Missing command"):
        return "thiếu tên lệnh"
    if isinstance(error, exceptions.FileError):
        return f"không mở được tệp '{error.ui_filename}': {error.message}"
    return message


def print_error(error: click.ClickException) -> None:
    """Print a framework error as one Vietnamese line, then the usage and where help is."""
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]Lỗi:[/] {escape(explain(error))}")
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        console.print(f"Cách dùng: {escape(usage_of(ctx.command, ctx))}")
        console.print(f"Xem hướng dẫn: {escape(ctx.command_path)} --help")


class VietnameseGroup(_VietnameseHelp, TyperGroup):
    """A group whose help pages, usage lines and parsing errors are in Vietnamese."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if (name and not name.startswith("-") and not ctx.resilient_parsing
                and self.get_command(ctx, name) is None):
            guesses = difflib.get_close_matches(name, list(self.commands))
            hint = (f"; có phải ý là {' hoặc '.join(guesses)}?" if guesses
                    else f"; xem các lệnh: {ctx.command_path} --help")
            raise UsageError(f"không có lệnh '{name}'{hint}", ctx)
        return super().resolve_command(ctx, args)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the command line; framework errors are printed in Vietnamese."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False,
                                  **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            typer.echo(error.ctx.get_help())
            result = 0
        except click.ClickException as error:
            if not standalone_mode:
                raise
            print_error(error)
            sys.exit(error.exit_code)
        except Abort:
            if not standalone_mode:
                raise
            Console(stderr=True).print("Đã dừng.")
            sys.exit(1)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


class VietnameseTyper(typer.Typer):
    """A Typer app whose groups and commands speak Vietnamese (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", VietnameseGroup)
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        kwargs.setdefault("subcommand_metavar", COMMAND_METAVAR)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("cls", VietnameseCommand)
        return super().command(*args, **kwargs)
