"""Chinese place names written in English for regions without a hand-written English name."""

import pytest

from marketplace.places.romanise import pinyin_word, place_name_in_english


@pytest.mark.parametrize(
    ("name", "level", "english"),
    [
        ("遂昌县", 3, "Suichang County"),
        ("阳山镇", 4, "Yangshan Town"),
        ("大竹小村", 5, "Dazhuxiao Village"),
        ("焦滩乡", 4, "Jiaotan Township"),
        ("妙高街道", 4, "Miaogao Subdistrict"),
        ("惠山区", 3, "Huishan District"),
        ("江山市", 3, "Jiangshan City"),  # a county-level city keeps its term
        ("丽水市", 2, "Lishui"),  # a prefecture-level city is written bare, as the region tree's own are
        ("浙江省", 1, "Zhejiang"),
        ("永安村", 5, "Yong'an Village"),
        ("苍畈", 5, "Cangfan Village"),  # no suffix: the level gives the term
        ("恩施土家族苗族自治州", 2, "Enshi Tujia and Miao Autonomous Prefecture"),
        ("积石山保安族东乡族撒拉族自治县", 3, "Jishishan Bonan, Dongxiang and Salar Autonomous County"),
        ("大坝苗族乡", 4, "Daba Miao Ethnic Township"),
        ("村", 5, "Cun Village"),  # a bare suffix is the name itself
        ("", 5, ""),
    ],
)
def test_a_place_name_is_written_in_pinyin_with_its_kind(name, level, english):
    assert place_name_in_english(name, level) == english


def test_syllables_that_would_run_together_are_parted_and_u_umlaut_is_kept():
    assert pinyin_word("西安") == "Xi'an"
    assert pinyin_word("吕梁") == "Lüliang"
