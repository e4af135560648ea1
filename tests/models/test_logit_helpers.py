"""The argmax and finiteness helpers every decoder shares: numpy for float32 CPU logits
(cheaper per call), torch otherwise, with the same answers either way."""

import math

import pytest
import torch

from models.decoding.sampling import all_finite, argmax, argmax_rows


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_argmax_takes_the_first_of_tied_maxima_on_every_path(dtype):
    rows = torch.tensor([[0.5, 2.0, 2.0, -1.0], [3.0, 3.0, 1.0, 0.0], [-math.inf, -1.0, -1.0, -2.0]], dtype=dtype)
    assert argmax_rows(rows) == [1, 0, 1]
    assert [argmax(row) for row in rows] == [1, 0, 1]


def test_argmax_agrees_with_torch_on_random_logits():
    logits = torch.randn(9, 8196, generator=torch.Generator().manual_seed(3))
    assert argmax_rows(logits) == logits.argmax(dim=-1).tolist()
    assert argmax(logits[4]) == int(logits[4].argmax())


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_nan_an_infinity_or_a_row_of_minus_infinity_is_not_finite(dtype):
    good = torch.tensor([[0.0, 1.0, -math.inf], [2.0, -3.0, 0.5]], dtype=dtype)
    assert all_finite(good)  # one "impossible" id is fine
    for broken in (math.nan, math.inf):
        bad = good.clone()
        bad[1, 2] = broken
        assert not all_finite(bad)
    bad = good.clone()
    bad[0] = -math.inf
    assert not all_finite(bad)
    assert all_finite(torch.zeros((0, 5), dtype=dtype))
