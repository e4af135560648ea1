"""`tandem bench latency` against a real server whose models cannot load: it says why and
fails, where it used to time empty answers and report a p50 of a few milliseconds."""

import asyncio

from bench.latency import run


def test_a_server_without_models_is_reported_not_timed(tmp_path, capsys):
    missing = tmp_path / "no such draft"
    code = asyncio.run(run(["--draft-model", str(missing)], {}, functions=1, seed=0, png=tmp_path / "h.png"))
    err = capsys.readouterr().err
    assert code == 2
    assert "has no models to time" in err and str(missing) in err
    assert not (tmp_path / "h.png").exists()
