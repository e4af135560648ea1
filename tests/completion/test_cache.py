from completion.cache import ANCHOR_CHARS, SuggestionCache

TEXT = "def area(r):\n    return \n\nprint(area(2))\n"
CURSOR = TEXT.index("return ") + len("return ")


def typed(text: str, offset: int, chars: str) -> tuple[str, int]:
    return text[:offset] + chars + text[offset:], offset + len(chars)


def test_typing_the_suggestion_answers_the_rest():
    cache = SuggestionCache()
    cache.remember("u", TEXT, CURSOR, "3.14 * r * r")
    text, offset = typed(TEXT, CURSOR, "3.1")
    hit = cache.lookup("u", text, offset)
    assert hit.text == "4 * r * r" and hit.typed == 3
    assert cache.lookup("u", TEXT, CURSOR).text == "3.14 * r * r"  # back where it was made
    assert cache.hits == 2


def test_typing_something_else_misses():
    cache = SuggestionCache()
    cache.remember("u", TEXT, CURSOR, "3.14 * r * r")
    assert cache.lookup("u", *typed(TEXT, CURSOR, "2")) is None
    assert cache.lookup("other", *typed(TEXT, CURSOR, "3")) is None
    assert cache.lookup("u", *typed(TEXT, CURSOR, "3.14 * r * r")) is None  # all typed: nothing left


def test_a_change_near_the_cursor_misses():
    cache = SuggestionCache()
    cache.remember("u", TEXT, CURSOR, "3.14 * r * r")
    changed = TEXT.replace("area(2)", "area(5)")  # same length, after the cursor
    assert cache.lookup("u", *typed(changed, CURSOR, "3")) is None
    changed = TEXT.replace("def area", "def zone")  # same length, before the cursor
    assert cache.lookup("u", *typed(changed, CURSOR, "3")) is None


def test_the_rest_keeps_the_range_it_replaces_and_whitespace_only_rests_are_not_answers():
    cache = SuggestionCache()
    text = "x = foo()\n"
    cache.remember("u", text, 8, "a).strip()", replace_chars=1)
    hit = cache.lookup("u", *typed(text, 8, "a"))
    assert hit.text == ").strip()" and hit.replace_chars == 1
    cache.remember("u", TEXT, CURSOR, "r\n")
    assert cache.lookup("u", *typed(TEXT, CURSOR, "r")) is None


def test_bounded_by_entries_and_by_characters():
    cache = SuggestionCache(max_entries=3, max_chars=10_000)
    for i in range(5):
        cache.remember("u", TEXT, CURSOR, f"value_{i}")
    assert len(cache) == 1
    for i in range(5):
        cache.remember(f"u{i}", TEXT, CURSOR, "x" * 10)
    assert len(cache) == 3
    small = SuggestionCache(max_entries=100, max_chars=3 * (2 * ANCHOR_CHARS))
    long_text = "a = 1\n" * 200
    for i in range(10):
        small.remember(f"u{i}", long_text, 300, "b" * 50)
    assert sum(e.size for e in small._entries.values()) <= small.max_chars


def test_forget_drops_a_documents_entries():
    cache = SuggestionCache()
    cache.remember("u", TEXT, CURSOR, "1")
    cache.remember("v", TEXT, CURSOR, "2")
    cache.forget("u")
    assert len(cache) == 1 and cache.lookup("u", TEXT, CURSOR) is None
