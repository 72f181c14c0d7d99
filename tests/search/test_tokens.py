from marketplace.search.tokens import MAX_QUERY_LENGTH, index_tokens, parse_query


def test_cjk_text_is_indexed_as_unigrams_and_bigrams():
    tokens = index_tokens("阳山水蜜桃")
    assert {"阳", "桃", "阳山", "水蜜", "蜜桃"} <= tokens
    assert "阳山水" not in tokens


def test_latin_words_are_indexed_by_prefix_and_folded():
    tokens = index_tokens("Yangshan PEACHES")
    assert {"y", "yangshan", "pea", "peach", "peaches"} <= tokens


def test_full_width_text_is_normalised():
    assert "peach" in index_tokens("ＰＥＡＣＨ")


def test_query_for_a_phrase_needs_its_bigrams_and_the_phrase():
    query = parse_query("  水蜜桃 ")
    assert query.tokens == ("水蜜", "蜜桃")
    assert query.phrases == ("水蜜桃",)


def test_one_character_query_is_a_unigram():
    assert parse_query("笋").tokens == ("笋",)


def test_query_without_searchable_characters_is_empty():
    for raw in ("", "   ", "🍑🍑", "';--"):
        assert parse_query(raw).is_empty, raw


def test_long_query_is_shortened_and_bounded():
    query = parse_query("桃" * 2000)
    assert query.shortened
    assert len(query.text) == MAX_QUERY_LENGTH
    assert query.tokens == ("桃桃",)


def test_sql_looking_query_is_just_words():
    query = parse_query("'; DROP TABLE catalogue_product; --")
    assert query.tokens == ("drop", "table", "catalogue", "product")
