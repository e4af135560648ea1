"""One settings schema: every declaration and document of a setting is generated from
`TandemSettings` (by `tooling/sync_settings.py`) or checked against it here, so a setting
added in one place only fails a test. Fix a failure with `python tooling/sync_settings.py
--write`, or by adding the flag (CLI) where the test says."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil

import pytest
from pydantic import Field

from lsp_server import settings as settings_module
from lsp_server.cli import build_parser
from lsp_server.settings import TandemSettings, setting_fields
from tests.conftest import ROOT


def _load_sync_settings():
    """The checkout's own `tooling/sync_settings.py`, not a copy installed elsewhere."""
    spec = importlib.util.spec_from_file_location("sync_settings", ROOT / "tooling" / "sync_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_sync_settings()
WIRE_NAMES = list(setting_fields())


def _package() -> dict:
    return json.loads((ROOT / sync.PACKAGE_JSON).read_text(encoding="utf-8"))


def _read(path) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


# ---- the schema itself -----------------------------------------------------------------

def test_every_setting_has_a_description_and_a_default():
    for name, field in TandemSettings.model_fields.items():
        assert field.description and field.description.strip(), f"{name} has no description"
        assert not field.is_required(), f"{name} has no default"
    for wire, schema in setting_fields().items():
        assert "default" in schema and schema["description"].strip(), wire
    TandemSettings()  # every default is valid


def test_wire_names_give_back_the_field_names():
    # Flags (`--max-new-tokens`) and variables (`TANDEM_MAX_NEW_TOKENS`) are derived from
    # the wire name; they must name the field the CLI helper kebab-cases.
    assert [sync.field_name(wire) for wire in WIRE_NAMES] == list(TandemSettings.model_fields)


# ---- VS Code ---------------------------------------------------------------------------

def test_the_extensions_settings_are_the_rendered_ones_in_order():
    properties = sync.package_properties(_package())
    rendered = sync.render_vscode_properties(properties)
    assert list(properties) == list(rendered), "run: python tooling/sync_settings.py --write"
    for key, entry in rendered.items():
        assert properties[key] == entry, f"{key} differs; run: python tooling/sync_settings.py --write"


def test_the_extension_forwards_exactly_the_schema():
    # The extension forwards every `tandem.*` key of its package.json except the VS
    # Code-only prefixes `server.`, `trace.` and `enable`: so those must be exactly its own
    # settings, and everything else exactly the schema's fields.
    keys = [key.removeprefix("tandem.") for key in sync.package_properties(_package())]
    assert all(key.startswith("tandem.") for key in sync.package_properties(_package()))

    def vscode_only(key: str) -> bool:
        return key.startswith(("server.", "trace.")) or key == "enable"

    assert {key for key in keys if vscode_only(key)} == {
        "server.python", "server.path", "server.args", "server.address", "server.tokenFile", "enable", "trace.server"}
    assert set(sync.VSCODE_ONLY) == {key for key in keys if vscode_only(key)}
    assert [key for key in keys if not vscode_only(key)] == WIRE_NAMES
    assert not any(vscode_only(wire) for wire in WIRE_NAMES), "a setting's name collides with VS Code-only keys"


def test_vscode_entries_accept_the_default_and_carry_the_bounds():
    properties = sync.package_properties(_package())
    for wire, schema in setting_fields().items():
        entry = properties[f"tandem.{wire}"]
        assert entry["default"] == schema["default"] and entry["markdownDescription"]
        for key in ("enum", "minimum", "maximum", "exclusiveMinimum", "pattern"):
            assert entry.get(key) == schema.get(key), (wire, key)
    assert properties["tandem.draftTokens"]["type"] == ["integer", "string"]
    assert {"type": "string", "enum": ["auto"]} in properties["tandem.draftTokens"]["anyOf"]


# ---- README, Neovim help, dev container ------------------------------------------------

def test_the_readme_table_is_the_rendered_one():
    table = sync.between(_read(sync.README), sync.README_BEGIN, sync.README_END, sync.README)
    assert table == sync.render_readme_table(), "run: python tooling/sync_settings.py --write"
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `(\w+)`", row).group(1) for row in rows] == WIRE_NAMES


def test_the_neovim_help_lists_the_rendered_settings_and_stays_a_valid_help_file():
    text = _read(sync.NEOVIM_HELP)
    assert text == sync.replace_help_section(text, sync.render_help_section()), \
        "run: python tooling/sync_settings.py --write"
    assert all(f"*tandem-{wire}*" in text for wire in WIRE_NAMES)
    too_long = [n for n, line in enumerate(text.splitlines(), 1) if len(line) > 78]
    assert not too_long, f"lines over 78 columns: {too_long}"
    tags = re.findall(r"(?<!\S)\*([^*\s|]+)\*(?!\S)", text)
    assert len(tags) == len(set(tags)), "a help tag is defined twice"
    assert text.rstrip().endswith("vim:tw=78:ts=8:ft=help:norl:")


def test_the_entrypoint_maps_a_variable_to_a_flag_for_every_setting():
    text = _read(sync.ENTRYPOINT)
    block = sync.between(text, sync.ENTRYPOINT_BEGIN, sync.ENTRYPOINT_END, sync.ENTRYPOINT)
    assert block == sync.render_entrypoint_block(), "run: python tooling/sync_settings.py --write"
    # Read back independently of the renderer: the variables named, and the flags they set.
    variables = set(re.findall(r"\$\{?(TANDEM_[A-Z0-9_]+)", text))
    assert variables == {sync.env_variable(wire) for wire in WIRE_NAMES} | {
        "TANDEM_HOST", "TANDEM_PORT", "TANDEM_LOG_FILE", "TANDEM_TOKEN", "TANDEM_TOKEN_FILE"}
    flags = set(re.findall(r"set -- (--[a-z0-9-]+)", block))
    booleans = [wire for wire, schema in setting_fields().items() if sync.is_boolean(schema)]
    assert flags == {sync.cli_flag(wire) for wire in WIRE_NAMES} | {
        "--no-" + sync.cli_flag(wire)[2:] for wire in booleans}
    assert sync.env_variable("maxNewTokens") == "TANDEM_MAX_NEW_TOKENS"
    assert sync.cli_flag("maxNewTokens") == "--max-new-tokens"


def test_the_check_passes_on_the_checkout():
    assert sync.out_of_date(ROOT) == []
    assert sync.main(["--check", "--root", str(ROOT)]) == 0


# ---- the CLI ---------------------------------------------------------------------------

def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[name]


@pytest.mark.parametrize("command", ["serve", "complete", "doctor"])
def test_the_cli_has_a_flag_for_every_setting(command):
    options = {option for action in _subcommand(build_parser(), command)._actions
               for option in action.option_strings}
    wanted = {sync.cli_flag(wire) for wire in WIRE_NAMES}
    wanted |= {"--no-" + sync.cli_flag(wire)[2:] for wire, schema in setting_fields().items()
               if sync.is_boolean(schema)}
    assert not wanted - options, f"`tandem {command}` lacks {sorted(wanted - options)}"


# ---- the check can fail ----------------------------------------------------------------

class _WithOneMore(TandemSettings):
    shiny_new: int = Field(3, ge=0, description="a setting declared in the schema only")


def test_a_setting_added_to_the_schema_only_puts_every_generated_file_out_of_date(monkeypatch):
    monkeypatch.setattr(settings_module, "TandemSettings", _WithOneMore)
    assert "shinyNew" in setting_fields()
    problems = sync.out_of_date(ROOT)
    stale = {problem.split(":")[0] for problem in problems}
    assert stale == {str(path) for path in (sync.PACKAGE_JSON, sync.README, sync.NEOVIM_HELP, sync.ENTRYPOINT)}
    assert "tandem.shinyNew" in sync.render_vscode_properties(sync.package_properties(_package()))
    assert "| `shinyNew` | `3` |" in sync.render_readme_table()
    assert "*tandem-shinyNew*" in sync.render_help_section()
    assert '"${TANDEM_SHINY_NEW:-}" ] && set -- --shiny-new' in sync.render_entrypoint_block()


def test_write_brings_stale_files_up_to_date_and_keeps_the_rest_of_package_json(tmp_path):
    for path in (sync.PACKAGE_JSON, sync.README, sync.NEOVIM_HELP, sync.ENTRYPOINT):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    package = _package()
    properties = sync.package_properties(package)
    del properties["tandem.topK"]
    properties["tandem.stale"] = {"type": "string", "default": ""}
    properties["tandem.seed"]["default"] = 7
    package["dependencies"]["left-alone"] = "1.0.0"
    (tmp_path / sync.PACKAGE_JSON).write_text(json.dumps(package, indent=1), encoding="utf-8")
    readme = tmp_path / sync.README
    readme.write_text(readme.read_text(encoding="utf-8").replace("| `topK` |", "| `topKay` |"), encoding="utf-8")

    assert {line.split(":")[0] for line in sync.out_of_date(tmp_path)} == {str(sync.PACKAGE_JSON), str(sync.README)}
    assert sync.main(["--write", "--root", str(tmp_path)]) == 0
    assert sync.out_of_date(tmp_path) == []
    written = json.loads((tmp_path / sync.PACKAGE_JSON).read_text(encoding="utf-8"))
    assert written["dependencies"]["left-alone"] == "1.0.0"
    assert {key: value for key, value in written.items() if key not in ("contributes", "dependencies")} == {
        key: value for key, value in _package().items() if key not in ("contributes", "dependencies")}
    assert (tmp_path / sync.PACKAGE_JSON).read_text(encoding="utf-8").endswith("}\n")
    assert (tmp_path / sync.README).read_text(encoding="utf-8") == _read(sync.README)
