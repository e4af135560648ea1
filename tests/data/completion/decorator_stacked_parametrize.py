#: mode: "multi-line"
#: model: "def test_square_is_positive(n):\n    assert n * n > 0\n"
#: text: "def test_square_is_positive(n):\n    assert n * n > 0"
import pytest


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2, 3])
█
