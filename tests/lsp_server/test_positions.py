import pytest

from lsp_server.positions import UTF8, UTF16, UTF32, PositionError, offset_at, position_of, replace_range

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


# -- incremental changes: ranges read strictly -------------------------------------------------
@pytest.mark.parametrize("encoding, after_emoji", [(UTF16, 3), (UTF8, 5), (UTF32, 2)])
def test_a_change_after_an_emoji_lands_after_it_in_every_encoding(encoding, after_emoji):
    assert replace_range(TEXT, (0, after_emoji), (0, after_emoji), "!", encoding) == "a😀!b\r\nx中\ty\rz\n"


def test_a_change_across_lines_and_line_breaks():
    assert replace_range(TEXT, (0, 4), (2, 0), "", UTF16) == "a😀bz\n"
    assert replace_range(TEXT, (1, 1), (1, 2), "文", UTF16) == "a😀b\r\nx文\ty\rz\n"
    assert replace_range(TEXT, (1, 1), (1, 4), "文", UTF8) == "a😀b\r\nx文\ty\rz\n"  # 中 is 3 UTF-8 bytes


@pytest.mark.parametrize("start, end, message", [
    ((0, 2), (0, 2), "inside a character"),              # between the emoji's two UTF-16 halves
    ((0, 5), (0, 5), "character 5 is past the end of line 0"),  # the spec's clamping would hide a desync
    ((5, 0), (5, 0), "line 5 is past the end"),
    ((1, 2), (1, 1), "before its start"),
    ((-1, 0), (0, 0), "negative"),
])
def test_a_range_outside_the_text_is_refused(start, end, message):
    with pytest.raises(PositionError, match=message):
        replace_range(TEXT, start, end, "x", UTF16)


def test_utf8_positions_inside_a_multibyte_character_are_refused():
    with pytest.raises(PositionError, match="inside a character"):
        replace_range("中", (0, 1), (0, 1), "x", UTF8)


def test_the_line_after_a_last_line_without_a_break_is_the_end():
    # Neovim, for a buffer without 'eol', adds a last line with the range (1, 1)-(2, 0).
    assert replace_range("a\nb", (1, 1), (2, 0), "\nc", UTF16) == "a\nb\nc"
    with pytest.raises(PositionError, match="line 3 is past the end"):
        replace_range("a\nb", (3, 0), (3, 0), "c", UTF16)
