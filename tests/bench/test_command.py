"""`tandem bench` comes from the tooling wing by entry point: each suite has its own options
and the setting flags it reads; without the tooling, one clear line and exit 2."""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points

import pytest

import lsp_server.cli as cli
from lsp_server.cli import _settings_from, build_parser
from lsp_server.settings import setting_fields

OWN_OPTIONS = {
    "engine": {"--prompts", "--new-tokens", "--k", "--threads", "--project-7b", "--engines"},
    "context": {"--samples", "--threads"},
    "latency": {"--functions", "--seed", "--png"},
    "soak": {"--keystrokes", "--documents", "--interval-ms", "--seed", "--no-clean-run"},
    "eval": {"--limit", "--out", "--direct", "--data", "--sets", "--configs", "--exec-timeout", "--seed"},
    "team": {"--users", "--setups", "--functions", "--speculative-tokens", "--seed", "--png"},
    "gpu": set(),
}
COMMON = {"-h", "--help", "--log-file", "-v", "--verbose"}
SETTING_FLAGS = {"--" + "".join("-" + c.lower() if c.isupper() else c for c in wire) for wire in setting_fields()}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def test_the_tooling_registers_bench_through_the_entry_point_group():
    assert "bench" in {entry.name for entry in entry_points(group=cli.COMMANDS_GROUP)}
    assert set(_subparsers(_subparsers(build_parser())["bench"])) == set(OWN_OPTIONS)


@pytest.mark.parametrize("suite", sorted(OWN_OPTIONS))
def test_each_suite_lists_only_its_own_options_and_setting_flags(suite):
    options = _options(_subparsers(_subparsers(build_parser())["bench"])[suite])
    others = set().union(*OWN_OPTIONS.values()) - OWN_OPTIONS[suite]
    assert OWN_OPTIONS[suite] | COMMON <= options
    assert not options & (others - SETTING_FLAGS)
    assert options - OWN_OPTIONS[suite] - COMMON <= SETTING_FLAGS | {"--no-postprocess"}


def test_old_command_lines_still_parse_with_their_defaults():
    args = build_parser().parse_args(["bench", "eval", "--limit", "2", "--out", "DIR", "--direct"])
    assert (args.suite, args.limit, args.out, args.direct, args.seed, args.exec_timeout) == ("eval", 2, "DIR", True, 0, 5.0)
    assert _settings_from(args) == {"maxNewTokens": 128}  # eval's own default for a function body
    args = build_parser().parse_args(["bench", "engine", "--k", "3", "--draft-model", "D"])
    assert (args.prompts, args.new_tokens, args.k, args.project_7b) == (20, 64, 3, False)
    assert build_parser().parse_args(["bench", "engine", "--project-7b"]).project_7b is True
    assert _settings_from(args) == {"draftModel": "D", "dtype": "float32"}
    args = build_parser().parse_args(["bench", "latency", "--seed", "5", "--draft-tokens", "2"])
    assert args.seed == 5 and _settings_from(args) == {"draftTokens": 2}  # its --seed is not the setting
    assert _settings_from(build_parser().parse_args(["bench", "gpu"])) == {"dtype": "bfloat16"}


def test_setting_flags_are_typed_and_checked_by_the_schema(capsys):
    args = build_parser().parse_args(["serve", "--draft-tokens", "auto", "--seed", "3", "--no-postprocess",
                                      "--temperature", "0.2", "--device", "cuda:1", "--top-k", "5"])
    assert _settings_from(args) == {"draftTokens": "auto", "seed": 3, "postprocess": False, "temperature": 0.2,
                                    "device": "cuda:1", "topK": 5}
    assert _settings_from(build_parser().parse_args(["serve", "--draft-tokens", "4"])) == {"draftTokens": 4}
    for flag, value in (("--max-new-tokens", "x"), ("--max-new-tokens", "0"), ("--draft-tokens", "9"),
                        ("--device", "gpu"), ("--dtype", "float8"), ("--seed", "-1")):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(["serve", flag, value])
        assert exit_.value.code == 2 and f"argument {flag}" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["bench"], ["bench", "--help"], ["bench", "eval", "--limit", "2", "-v"]])
def test_without_the_tooling_bench_says_how_to_install_it(monkeypatch, capsys, argv):
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e tooling" in err and "Traceback" not in err


def test_a_broken_plugin_is_one_line_and_leaves_serve_alone(monkeypatch, capsys):
    class Broken:
        name = "bench"

        def load(self):
            raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(cli, "entry_points", lambda group: [Broken()])
    assert cli.main(["bench", "eval"]) == 2
    assert "matplotlib" in capsys.readouterr().err
    assert build_parser().parse_args(["serve", "--tcp"]).tcp
