"""The engine benchmark's derived columns follow their definitions (synthetic rows)."""

from bench.engine import Row, format_table


def _baseline() -> Row:
    # 10 ms per decode step: 2 prompts, 11 tokens each, 10 steps each after the prefill.
    return Row("target only", seconds=[0.2, 0.2], tokens=[11, 11], outputs=[(1,), (2,)],
               decode_tokens=20, decode_seconds=0.2)


def _cells(table: str, name: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(name))
    return line[len(name):].split()


def test_lookup_row_columns_follow_their_definitions():
    # 20 decode tokens in 5 rounds (E = 4), 4 drafted per round, no model cost (c = 0),
    # verify passes of 15 ms (v = 1.5) and 0.1 s of decode: speedup 2× over 10 ms steps.
    lookup = Row("lookup", seconds=[0.1, 0.1], tokens=[11, 11], outputs=[(1,), (3,)],
                 drafted=20, accepted=15, rounds=5, decode_tokens=20, decode_seconds=0.1,
                 verify_seconds=0.075)
    cells = _cells(format_table([_baseline(), lookup]), "lookup")
    tok_s, speedup, alpha, e, k_mean, c, theory, effic, v, engine, identical, *rest = cells
    assert float(tok_s) == 110.0 and speedup == "2.00×"
    assert (alpha, e, k_mean, c) == ("0.75", "4.00", "4.0", "0.000")
    assert (theory, effic) == ("4.00", "0.50")    # 2× of the 4× that prices verify as a step
    assert (v, engine) == ("1.50", "0.75")        # 2× of the 4/1.5 = 2.67× attainable
    assert identical == "no" and rest == ["(1)"]


def test_draft_cost_enters_through_model_drafted_tokens_only():
    # 2 model tokens per round at 5 ms each (c = 0.5): theory = E / (1 + 2·0.5).
    combined = Row("combined", seconds=[0.1, 0.1], tokens=[11, 11], outputs=[(1,), (2,)],
                   drafted=20, accepted=15, rounds=5, draft_steps=10, draft_step_seconds=0.05,
                   decode_tokens=20, decode_seconds=0.1, verify_seconds=0.05)
    cells = _cells(format_table([_baseline(), combined]), "combined")
    assert cells[5:10] == ["0.500", "2.00", "1.00", "1.00", "1.00"]
    assert cells[-1] == "yes"


def test_the_engines_table_derives_c_speedup_and_the_peer_ratio():
    from bench.engines import EngineRow, Timed, format_table

    def timed(seconds, tokens, decode_seconds, outputs):
        row = Timed()
        for output in outputs:
            row.add(seconds / len(outputs), output, decode_seconds / len(outputs))
        return row

    # Target 10 ms per decode step, draft 1 ms (c = 0.1); greedy 100 tok/s, speculative 250.
    outputs = [tuple(range(11)), tuple(range(11))]
    row = EngineRow("llamacpp", "f32", pair=None,
                    target=timed(0.22, 22, 0.2, outputs), draft=timed(0.022, 22, 0.02, outputs),
                    speculative=timed(0.088, 22, 0.0, outputs), drafted=40, accepted=30)
    peer = timed(0.11, 22, 0.1, outputs)  # llama.cpp's own loop: 200 tok/s
    table = format_table([row], peer)
    cells = _cells(table, "llamacpp")
    assert cells[:4] == ["f32", "10.00", "1.00", "0.10"]
    assert cells[4:] == ["100.0", "250.0", "2.50×", "0.75", "1.25×", "yes"]
    assert "5.00 ms/token, 200.0 tok/s; its tokens equal the llamacpp engine's greedy" in table
    row.speculative.outputs[1] = (0,)
    assert _cells(format_table([row], None), "llamacpp")[-4:] == ["0.75", "–", "no", "(1)"]
    assert "not measured (llama-cpp-python is not installed" in format_table([row], None)
