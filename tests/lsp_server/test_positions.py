import pytest

from lsp_server.positions import UTF8, UTF16, UTF32, PositionError, offset_at, position_of

TEXT = "a😀b\r\nx中\ty\rz\n"


@pytest.mark.parametrize("encoding, character, expected", [
    (UTF16, 3, 2),   # the emoji is two UTF-16 units
    (UTF8, 5, 2),    # ... four UTF-8 bytes
    (UTF32, 2, 2),   # ... one code point
])
def test_emoji_counts_per_encoding(encoding, character, expected):
    assert offset_at(TEXT, 0, character, encoding) == expected
    assert position_of(TEXT, expected, encoding) == (0, character)


def test_cjk_and_tab_after_crlf():
    # line 1 is "x中\ty": CJK is one UTF-16 unit but three UTF-8 bytes; a tab is one unit
    assert TEXT[offset_at(TEXT, 1, 3, UTF16)] == "y"
    assert TEXT[offset_at(TEXT, 1, 5, UTF8)] == "y"


def test_lone_carriage_return_ends_a_line():
    assert TEXT[offset_at(TEXT, 2, 0)] == "z"


def test_character_past_the_line_end_means_the_line_end():
    assert offset_at(TEXT, 0, 99) == TEXT.index("\r")


def test_last_empty_line_is_addressable_but_not_beyond():
    assert offset_at(TEXT, 3, 0) == len(TEXT)
    with pytest.raises(PositionError, match="line 4 is past the end of the document"):
        offset_at(TEXT, 4, 0)


def test_negative_positions():
    with pytest.raises(PositionError, match="negative"):
        offset_at(TEXT, -1, 0)
