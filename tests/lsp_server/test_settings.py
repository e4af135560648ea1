from completion.service import CompletionOptions
from lsp_server.settings import TandemSettings, parse_settings


def test_every_field_has_a_default_and_camel_case_names():
    settings = TandemSettings()
    wire = settings.model_dump(by_alias=True)
    assert {"draftModel", "targetModel", "device", "dtype", "promptFormat", "maxNewTokens",
            "draftTokens", "temperature", "multiline", "contextTokens", "debounceMs"} <= set(wire)


def test_section_may_be_nested_under_tandem():
    settings, problems = parse_settings({"tandem": {"maxNewTokens": 32, "multiline": "never"}})
    assert (settings.max_new_tokens, settings.multiline, problems) == (32, "never", [])


def test_bad_values_keep_the_previous_value_and_say_why():
    previous, _ = parse_settings({"maxNewTokens": 40})
    settings, problems = parse_settings(
        {"maxNewTokens": -5, "device": "tpu", "contextTokens": "lots", "temperature": 0.2}, previous)
    assert settings.max_new_tokens == 40 and settings.device == "auto" and settings.context_tokens == 1024
    assert settings.temperature == 0.2  # the good value in the same payload still applies
    assert len(problems) == 3
    assert any("tandem.maxNewTokens = -5 is invalid" in p and "keeping 40" in p for p in problems)
    assert any("must be auto, cpu, cuda, cuda:N, mps or npu" in p for p in problems)


def test_unknown_keys_and_non_objects_are_reported():
    _, problems = parse_settings({"maxNewToken": 3})
    assert problems == ["unknown setting tandem.maxNewToken ignored"]
    settings, problems = parse_settings(["not", "an", "object"])
    assert settings == TandemSettings() and "must be an object" in problems[0]


def test_draft_tokens_accepts_auto_or_a_small_number():
    assert parse_settings({"draftTokens": 5})[0].draft_tokens == 5
    assert parse_settings({"draftTokens": 99})[1]


def test_completion_options_are_plain_values():
    options = parse_settings({"maxNewTokens": 20, "contextTokens": 512})[0].completion_options()
    assert options == CompletionOptions(max_new_tokens=20, context_tokens=512, time_budget_ms=1000)


def test_seed_and_postprocess_reach_the_lower_layers():
    settings, problems = parse_settings({"seed": 7, "postprocess": False})
    assert problems == []
    assert settings.decoding_config().seed == 7 and settings.completion_options().postprocess is False
    settings, problems = parse_settings({"seed": None}, settings)
    assert problems == [] and settings.decoding_config().seed is None
    settings, problems = parse_settings({"seed": -1}, settings)
    assert len(problems) == 1 and "tandem.seed" in problems[0] and settings.seed is None


def test_engine_is_one_of_the_known_names():
    settings, problems = parse_settings({"engine": "onnx"})
    assert problems == [] and settings.engine == "onnx"
    settings, problems = parse_settings({"engine": "tensorrt"}, settings)
    assert len(problems) == 1 and "tandem.engine = 'tensorrt' is invalid" in problems[0] and settings.engine == "onnx"


def test_many_unknown_keys_make_one_message():
    settings, problems = parse_settings({f"option{i}": i for i in range(300)} | {"maxNewTokens": 12})
    assert settings.max_new_tokens == 12
    assert problems == ["unknown settings tandem.option0, tandem.option1, tandem.option2, tandem.option3, "
                        "tandem.option4 and 295 more ignored"]


def test_a_null_setting_returns_to_the_servers_starting_value_not_the_default():
    """VS Code sends every key it declares, null for those the user left unset: a server
    started with flags (a dev container's, a team's remoteUrl) keeps them."""
    starting, _ = parse_settings({"remoteUrl": "http://gpu-box:8000", "temperature": 0.2})
    settings, problems = parse_settings({"remoteUrl": None, "temperature": None, "maxNewTokens": 32},
                                        starting, starting)
    assert problems == [] and settings.remote_url == "http://gpu-box:8000" and settings.temperature == 0.2
    assert settings.max_new_tokens == 32
    settings, _ = parse_settings({"temperature": 0.9}, settings, starting)
    settings, _ = parse_settings({"temperature": None}, settings, starting)  # the user removed it
    assert settings.temperature == 0.2
    assert parse_settings({"temperature": None}, settings)[0].temperature == 0.0  # no flags: the default
