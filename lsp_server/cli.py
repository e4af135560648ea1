"""The `tandem` command line: serve, complete, doctor, prepare-draft, and the commands plugged in by the
tooling wing (`tandem bench …`, entry-point group `tandem.commands`).

Every setting is a flag (`draftModel` → `--draft-model`), generated from the settings
schema: its type, choices, bounds and help come from `TandemSettings`, never a second list.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import ValidationError

from lsp_server.logs import configure_logging
from lsp_server.settings import TandemSettings, setting_fields

log = logging.getLogger(__name__)

COMMANDS_GROUP = "tandem.commands"  # each entry point is `register(commands)`: it adds its subparser
TOOLING_MISSING = ("tandem bench needs the tooling wing, which is not installed: "
                   "pip install -e tooling (or make setup)")
KIND_NAMES = {"integer": "an integer", "number": "a number", "string": "text"}
TOKEN_VARIABLE = "TANDEM_TOKEN"  # `serve --tcp`'s access token, when not in --token-file
SETTING = "setting:"  # setting flags' argparse dest prefix, so a command's own --seed never mixes with them


def add_common(parser: argparse.ArgumentParser) -> None:
    """--log-file and -v/-vv: on every subcommand."""
    parser.add_argument("--log-file", type=Path, help="write logs here instead of stderr")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")


def add_setting_flags(parser: argparse.ArgumentParser, names: Iterable[str] | None = None,
                      defaults: dict | None = None) -> None:
    """A flag for each setting in `names` (wire names; all of them by default). `defaults`
    are this command's own defaults, which then count as given."""
    fields, defaults = setting_fields(), defaults or {}
    snake = {field.alias: name for name, field in TandemSettings.model_fields.items()}
    group = parser.add_argument_group("settings (the editor's tandem.* settings, same meaning and checks)")
    for wire in fields if names is None else names:
        schema = fields[wire]
        default = defaults.get(wire, schema.get("default"))
        shown = "" if default in ("", None) else f" (default: {default if isinstance(default, str) else json.dumps(default)})"
        help_text = (schema.get("description", "").replace("`", "") + shown).replace("%", "%%")
        flag, dest = "--" + snake[wire].replace("_", "-"), SETTING + wire
        if schema.get("type") == "boolean":
            group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=defaults.get(wire),
                               help=help_text)
        elif "enum" in schema:
            group.add_argument(flag, dest=dest, choices=schema["enum"], default=defaults.get(wire), help=help_text)
        else:
            group.add_argument(flag, dest=dest, type=_converter(wire, schema), default=defaults.get(wire),
                               metavar=snake[wire].upper(), help=help_text)


def _converter(wire: str, schema: dict) -> Callable[[str], object]:
    """argparse's `type` for one setting: the text read as the schema's type(s), then checked
    by the schema itself (bounds, patterns, ranges), so a bad value is a usage error."""
    kinds = [kind for kind in schema.get("anyOf", [schema]) if kind.get("type") != "null"]

    def read(text: str, kind: dict):
        if "const" in kind:
            return kind["const"] if text == kind["const"] else None
        try:
            return {"integer": int, "number": float}.get(kind.get("type"), str)(text)
        except ValueError:
            return None

    def convert(text: str):
        value = next((v for v in (read(text, kind) for kind in kinds) if v is not None), None)
        if value is None:
            expected = " or ".join(repr(k["const"]) if "const" in k else KIND_NAMES[k["type"]] for k in kinds)
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        try:
            TandemSettings.model_validate({wire: value})
        except ValidationError as error:
            raise argparse.ArgumentTypeError(f"{text!r}: {error.errors()[0]['msg']}") from None
        return value

    return convert


def _settings_from(args: argparse.Namespace) -> dict:
    """The settings given as flags, camelCase as on the wire."""
    return {key.removeprefix(SETTING): value for key, value in vars(args).items()
            if key.startswith(SETTING) and value is not None}


def _serve(args: argparse.Namespace, settings: dict) -> int:
    if args.tcp:
        try:
            token = access_token(args.host, args.token_file)
        except ValueError as error:
            print(f"tandem serve: {error}", file=sys.stderr)
            return 2
        from lsp_server.server import create_server
        from lsp_server.tcp import serve_tcp
        limit = {"max_connections": args.max_connections} if args.max_connections else {}
        serve_tcp(args.host, args.port, lambda **kwargs: create_server(settings, **kwargs), token, **limit)
        return 0
    from lsp_server.server import create_server
    server = create_server(settings)
    server.start_io()
    # `exit` without `shutdown` ends with 1, as LSP says (pygls' own exit code is swallowed).
    return server.protocol.exit_code or 0


def access_token(host: str, token_file: Path | None) -> str | None:
    """The token editors must present (`--token-file`, else $TANDEM_TOKEN), or None on
    loopback without one. ValueError, in words for the user, when it cannot be had or a
    non-loopback address has none. The token itself is never printed or logged."""
    token = None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read the access token file {token_file}: {error}") from None
        if not token:
            raise ValueError(f"the access token file {token_file} is empty")
    else:
        token = os.environ.get(TOKEN_VARIABLE, "").strip() or None
    if not _is_loopback(host):
        if token is None:
            raise ValueError(f"--host {host} can be reached from other machines, so it needs an access token: "
                             f"set {TOKEN_VARIABLE} or pass --token-file PATH (editors send it as "
                             "initializationOptions.token); or listen on 127.0.0.1")
        warning = (f"listening on {host}, beyond loopback: only editors that present the access token "
                   "are served")
        log.warning("%s", warning)
        if not _logs_to_stderr():  # in a log file only, it would go unseen
            print(f"tandem serve: {warning}", file=sys.stderr)
    return token


def _is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (an unknown name is not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host or None, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def _logs_to_stderr() -> bool:
    return any(getattr(h, "stream", None) is sys.stderr for h in logging.getLogger().handlers
               if not isinstance(h, logging.FileHandler))


def _complete(args: argparse.Namespace, settings: dict) -> int:
    from lsp_server.complete_command import run_complete
    return asyncio.run(run_complete(args, settings))


def _doctor(args: argparse.Namespace, settings: dict) -> int:
    from lsp_server.doctor import run_doctor
    return run_doctor(settings)


def _prepare_draft(args: argparse.Namespace, settings: dict) -> int:
    from lsp_server.prepare_draft_command import run_prepare_draft
    return run_prepare_draft(args)


def _unavailable(commands, name: str, message: str) -> None:
    """A stand-in for a plugin command that cannot load: whatever follows it, one line and exit 2."""
    parser = commands.add_parser(name, help=message, prefix_chars="\0", add_help=False)
    parser.add_argument("rest", nargs="*")

    def run(args: argparse.Namespace, settings: dict) -> int:
        print(message, file=sys.stderr)
        return 2

    parser.set_defaults(run=run)


def _plugins(commands) -> None:
    """The tooling wing's commands, found by entry point: the runtime never imports it."""
    for entry in entry_points(group=COMMANDS_GROUP):
        if entry.name in commands.choices:
            continue  # the same distribution seen twice on sys.path
        try:
            entry.load()(commands)
        except Exception as error:  # a broken plugin must not take `tandem serve` down with it
            if entry.name not in commands.choices:
                _unavailable(commands, entry.name, f"tandem {entry.name} could not load ({type(error).__name__}: "
                                                   f"{error}); reinstall the tooling: pip install -e tooling")
    if "bench" not in commands.choices:
        _unavailable(commands, "bench", TOOLING_MISSING)


class _NoTokenOnCommandLine(argparse.Action):
    """`--token SECRET` is refused without echoing it (else argparse would read it as an
    abbreviated --token-file, and print it as a path that cannot be read)."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error(f"the access token is never given on the command line (process lists and shell history "
                     f"show it): put it in a file for --token-file PATH, or in ${TOKEN_VARIABLE}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem code-completion server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="LSP over stdio (what editors spawn), or --tcp")
    serve.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; beyond loopback an access token is required")
    serve.add_argument("--port", type=int, default=2087)
    serve.add_argument("--token-file", type=Path, metavar="PATH",
                       help=f"TCP: a file holding the access token editors must send as "
                            f"initializationOptions.token (else ${TOKEN_VARIABLE}; never the token itself here)")
    serve.add_argument("--token", nargs="?", action=_NoTokenOnCommandLine, help=argparse.SUPPRESS)
    serve.add_argument("--max-connections", type=_positive, metavar="N",
                       help="TCP: editors attached at once; one more is told so and closed (default: 16)")
    add_setting_flags(serve)
    add_common(serve)
    serve.set_defaults(run=_serve)

    complete = commands.add_parser("complete", help="one completion through the real server")
    complete.add_argument("file", type=Path)
    complete.add_argument("--line", type=int, required=True, help="0-based, as in LSP")
    complete.add_argument("--character", type=int, required=True, help="0-based UTF-16 units, as in LSP")
    complete.add_argument("--json", action="store_true", help="print the result and stats as JSON")
    add_setting_flags(complete)
    add_common(complete)
    complete.set_defaults(run=_complete)

    doctor = commands.add_parser("doctor", help="devices, models found, and why each choice was made")
    add_setting_flags(doctor)
    add_common(doctor)
    doctor.set_defaults(run=_doctor)

    prepare = commands.add_parser(
        "prepare-draft", help="a copy of a draft padded to its target's vocabulary (for vLLM's draft_model method)")
    prepare.add_argument("--draft", type=Path, help="the draft checkpoint folder (default: the embedded draft)")
    prepare.add_argument("--target", type=Path, help="the target checkpoint folder (default: the embedded target)")
    prepare.add_argument("--out", type=Path, required=True, help="where the padded copy goes (a folder of its own)")
    prepare.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    add_common(prepare)
    prepare.set_defaults(run=_prepare_draft)

    _plugins(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "verbose", 0), getattr(args, "log_file", None))
    return args.run(args, _settings_from(args))


if __name__ == "__main__":
    sys.exit(main())
