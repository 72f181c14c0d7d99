from marketplace.search.tokens import (
    KIND,
    MAX_QUERY_LENGTH,
    NAME,
    PLACE,
    index_tokens,
    parse_query,
    pinyin,
    weighted_tokens,
)


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
    # Cut into words, a run of one character repeated is one word.
    assert query.tokens == ("桃",)


def test_sql_looking_query_is_just_words():
    query = parse_query("'; DROP TABLE catalogue_product; --")
    assert query.tokens == ("drop", "table", "catalogue", "product")


def test_pinyin_is_indexed_from_each_word_start_in_full_and_as_initials():
    tokens = index_tokens("阳山水蜜桃")
    assert {"yang", "yangshan", "yangshanshuimitao", "shuimitao", "shuimi", "ys", "smt", "yssmt"} <= tokens
    # Only from a word's start: 蜜桃 inside 水蜜桃 is not a word of its own here.
    assert "mitao" not in tokens


def test_a_kind_at_the_edge_of_a_word_outweighs_one_inside_a_word():
    tea = weighted_tokens([("茶叶", KIND), ("遂昌高山红茶", NAME)])
    camellia_oil = weighted_tokens([("山茶油", KIND), ("冷榨山茶油", NAME)])
    assert tea["茶"] > camellia_oil["茶"]
    # Where a token is found counts too: the kind over the name over the shop's place.
    assert weighted_tokens([("遂昌", KIND)])["遂昌"] > weighted_tokens([("遂昌", NAME)])["遂昌"]
    assert weighted_tokens([("遂昌", NAME)])["遂昌"] > weighted_tokens([("遂昌", PLACE)])["遂昌"]


def test_a_query_is_searched_word_by_word():
    query = parse_query("阳山水蜜桃礼盒")
    assert [term.text for term in query.terms] == ["阳山", "水蜜桃", "礼盒"]
    assert query.phrases == ("阳山", "水蜜桃", "礼盒")  # each word as written, not the whole run


def test_mixed_chinese_and_english_query_keeps_both():
    query = parse_query("阳山 Peach")
    assert [term.text for term in query.terms] == ["阳山", "peach"]


def test_pinyin_of_a_homophone_typo_is_the_pinyin_of_the_word_meant():
    assert pinyin("水密桃") == pinyin("水蜜桃") == "shuimitao"
