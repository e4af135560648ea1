"""The dev container's entrypoint, run as a process here (Docker cannot run on this
machine): two editors attach over TCP one after the other, each initialises, gets a
completion from the embedded models, and leaves; the server stays up between them. And,
with a stand-in `tandem` that records its arguments: every setting's variable reaches the
real CLI as that setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lsp_server.cli import SETTING, build_parser
from lsp_server.settings import TandemSettings, setting_fields
from tests.conftest import ROOT
from tests.e2e.test_tcp_server import connect, free_port

ENTRYPOINT = ROOT / "editors" / "devcontainer" / "entrypoint.sh"


def test_the_entrypoint_serves_editors_one_after_another(tmp_path):
    """With the access token it makes in TANDEM_TOKEN_FILE, which the editors then send."""
    port, token_file = free_port(), tmp_path / "secrets" / "token"
    env = {**{k: v for k, v in os.environ.items() if k != "TANDEM_TOKEN"},
           "TANDEM_HOST": "127.0.0.1", "TANDEM_PORT": str(port), "TANDEM_TOKEN_FILE": str(token_file),
           "TANDEM_LOG_FILE": str(tmp_path / "server.log"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(["sh", str(ENTRYPOINT)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with pytest.raises(Exception, match="needs an access token"):  # an editor without it is refused
            connect(server, port).close()
        token = token_file.read_text().strip()
        for editor in ("first", "second"):
            session = connect(server, port, token=token)
            try:
                assert session.wait_loaded()["state"] == "ready"
                uri = f"file:///workspace/{editor}.py"
                session.client.open(uri, "def area(width, height):\n    return ")
                items = session.complete(uri, 1, len("    return "))
                assert items and items[0].insert_text.strip(), f"{editor} editor got no completion"
            finally:
                session.close()
            assert server.poll() is None, server.stderr.read()
    finally:
        server.kill()
        server.wait()
    assert token not in (tmp_path / "server.log").read_text()


def _other_value(wire: str, schema: dict):
    """A valid value for the setting that is not its default."""
    default = schema["default"]
    kinds = [kind for kind in schema.get("anyOf", [schema]) if kind.get("type") != "null"]
    kind = kinds[0]
    if "enum" in schema:
        return next(value for value in schema["enum"] if value != default)
    if kind.get("type") == "boolean":
        return not default
    if kind.get("type") == "integer":
        low = kind.get("minimum", 0)
        return low + 1 if low == default else low
    if kind.get("type") == "number":
        return 0.5
    if wire == "remoteUrl":
        return "http://team-server:8000"
    return "cpu" if wire == "device" else f"/models/{wire}"


def _run_entrypoint(tmp_path: Path, variables: dict, *args: str) -> subprocess.CompletedProcess:
    """The entrypoint with `tandem` replaced by a script that writes its arguments, a line each."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "tandem"
    fake.write_text('#!/bin/sh\nfor arg in "$@"; do printf \'%s\\n\' "$arg"; done > "$ARGS_OUT"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "ARGS_OUT": str(tmp_path / "args"),
           **variables}
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30)


def _parsed_settings(tmp_path: Path) -> tuple[object, dict]:
    args = (tmp_path / "args").read_text().splitlines()
    namespace = build_parser().parse_args(args)
    given = {key.removeprefix(SETTING): value for key, value in vars(namespace).items()
             if key.startswith(SETTING) and value is not None}
    return namespace, given


def test_every_settings_variable_reaches_the_cli_as_that_setting(tmp_path):
    wanted = {wire: _other_value(wire, schema) for wire, schema in setting_fields().items()}
    TandemSettings.model_validate(wanted)  # the samples themselves are valid
    variable = {field.alias: "TANDEM_" + name.upper() for name, field in TandemSettings.model_fields.items()}
    variables = {variable[wire]: (str(value).lower() if isinstance(value, bool) else str(value))
                 for wire, value in wanted.items()}
    result = _run_entrypoint(tmp_path, {**variables, "TANDEM_HOST": "127.0.0.1", "TANDEM_PORT": "3001",
                                        "TANDEM_LOG_FILE": str(tmp_path / "log")})
    assert result.returncode == 0, result.stderr
    namespace, given = _parsed_settings(tmp_path)
    assert (tmp_path / "args").read_text().splitlines()[:2] == ["serve", "--tcp"]
    assert (namespace.host, namespace.port, namespace.log_file) == ("127.0.0.1", 3001, tmp_path / "log")
    assert given == wanted


def test_unset_variables_leave_the_defaults_and_the_containers_arguments_win(tmp_path):
    token_file = tmp_path / "state" / "token"
    result = _run_entrypoint(tmp_path, {"TANDEM_MAX_NEW_TOKENS": "16", "TANDEM_DEVICE": "",
                                        "TANDEM_TOKEN_FILE": str(token_file)},
                             "--max-new-tokens", "32", "--no-postprocess")
    assert result.returncode == 0, result.stderr
    namespace, given = _parsed_settings(tmp_path)
    assert given == {"maxNewTokens": 32, "postprocess": False}
    assert (namespace.host, namespace.port) == ("0.0.0.0", 2087)
    assert namespace.token_file == token_file  # 0.0.0.0 needs a token: one was made


def test_beyond_loopback_the_entrypoint_makes_a_token_file_once_or_takes_the_one_given(tmp_path):
    token_file = tmp_path / "state" / "token"
    result = _run_entrypoint(tmp_path, {"TANDEM_TOKEN_FILE": str(token_file)})
    assert result.returncode == 0, result.stderr
    token = token_file.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", token) and token_file.stat().st_mode & 0o077 == 0
    assert token not in result.stderr and str(token_file) in result.stderr
    namespace, _ = _parsed_settings(tmp_path)
    assert namespace.host == "0.0.0.0" and namespace.token_file == token_file

    result = _run_entrypoint(tmp_path, {"TANDEM_TOKEN_FILE": str(token_file)})  # a restart keeps it
    assert result.returncode == 0 and token_file.read_text() == token and not result.stderr

    # TANDEM_TOKEN: the server reads it from the environment; no file, no token in the arguments.
    (tmp_path / "args").unlink()
    result = _run_entrypoint(tmp_path, {"TANDEM_TOKEN": "from-the-environment"})
    assert result.returncode == 0, result.stderr
    namespace, _ = _parsed_settings(tmp_path)
    assert namespace.token_file is None and "from-the-environment" not in (tmp_path / "args").read_text()

    # On loopback, without either, no token is needed.
    result = _run_entrypoint(tmp_path, {"TANDEM_HOST": "127.0.0.1"})
    assert result.returncode == 0 and _parsed_settings(tmp_path)[0].token_file is None


def test_a_boolean_variable_must_say_true_or_false(tmp_path):
    result = _run_entrypoint(tmp_path, {"TANDEM_POSTPROCESS": "maybe"})
    assert result.returncode == 2 and "TANDEM_POSTPROCESS must be true or false" in result.stderr
    assert not (tmp_path / "args").exists()
