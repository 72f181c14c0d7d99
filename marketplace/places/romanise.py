"""Chinese place names written in English the way maps and addresses write them (遂昌县 → Suichang County,
阳山镇 → Yangshan Town): the name in pinyin as one word, then the English term for its kind of division.

Used for the regions the association adds without an English name (villages, towns); a name written by
hand (``Region.name_en``) always wins.
"""

import functools
from typing import Final

from pypinyin import lazy_pinyin

# A division's kind, read from the end of its name; longest first so 自治县 is not read as 县.
SUFFIX_TERMS: Final[tuple[tuple[str, str], ...]] = (
    ("特别行政区", "Special Administrative Region"),
    ("村民委员会", "Village"),
    ("居民委员会", "Community"),
    ("街道办事处", "Subdistrict"),
    ("自治区", "Autonomous Region"),
    ("自治州", "Autonomous Prefecture"),
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("民族乡", "Ethnic Township"),
    ("村委会", "Village"),
    ("居委会", "Community"),
    ("街道", "Subdistrict"),
    ("社区", "Community"),
    ("地区", "Prefecture"),
    ("林区", "Forestry District"),
    ("新区", "New Area"),
    ("省", "Province"),
    ("市", "City"),
    ("盟", "League"),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
    ("镇", "Town"),
    ("乡", "Township"),
    ("村", "Village"),
)

# Region.Level (1 province … 5 village) → the term a name without a known suffix gets.
LEVEL_TERMS: Final[dict[int, str]] = {1: "Province", 2: "City", 3: "County", 4: "Town", 5: "Village"}

# Provinces and prefecture-level cities are written bare in English (Zhejiang, Lishui), as the region
# tree's own English names are; lower levels keep their term (Suichang County, a county-level Jiangshan City).
BARE_AT_LEVEL: Final[dict[int, frozenset[str]]] = {
    1: frozenset({"省", "市", "自治区", "特别行政区"}),
    2: frozenset({"市"}),
}

# The ethnic groups an autonomous division is named for (恩施土家族苗族自治州 → Enshi Tujia and Miao
# Autonomous Prefecture), by their English names.
ETHNIC_GROUPS: Final[dict[str, str]] = {
    "蒙古": "Mongol", "回": "Hui", "藏": "Tibetan", "维吾尔": "Uyghur", "苗": "Miao", "彝": "Yi",
    "壮": "Zhuang", "布依": "Bouyei", "朝鲜": "Korean", "满": "Manchu", "侗": "Dong", "瑶": "Yao",
    "白": "Bai", "土家": "Tujia", "哈尼": "Hani", "哈萨克": "Kazakh", "傣": "Dai", "黎": "Li",
    "傈僳": "Lisu", "佤": "Va", "畲": "She", "高山": "Gaoshan", "拉祜": "Lahu", "水": "Sui",
    "东乡": "Dongxiang", "纳西": "Naxi", "景颇": "Jingpo", "柯尔克孜": "Kyrgyz", "土": "Tu",
    "达斡尔": "Daur", "仫佬": "Mulao", "羌": "Qiang", "布朗": "Blang", "撒拉": "Salar", "毛南": "Maonan",
    "仡佬": "Gelao", "锡伯": "Xibe", "阿昌": "Achang", "普米": "Pumi", "塔吉克": "Tajik", "怒": "Nu",
    "乌孜别克": "Uzbek", "俄罗斯": "Russian", "鄂温克": "Evenki", "德昂": "De'ang", "保安": "Bonan",
    "裕固": "Yugur", "京": "Gin", "塔塔尔": "Tatar", "独龙": "Derung", "鄂伦春": "Oroqen", "赫哲": "Hezhen",
    "门巴": "Monba", "珞巴": "Lhoba", "基诺": "Jino", "各": "",
}  # fmt: skip


def pinyin_word(chinese: str) -> str:
    """A name in pinyin as one capitalised word, with an apostrophe where a syllable beginning with a, o or
    e would run into the one before (永安 → Yong'an, 西安 → Xi'an)."""
    word = ""
    for syllable in lazy_pinyin(chinese, v_to_u=True):
        if word and syllable[:1] in {"a", "o", "e"}:
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]


def _ethnic_groups(base: str) -> tuple[str, list[str]]:
    """Split the ethnic groups off the end of an autonomous division's name (恩施土家族苗族 → 恩施,
    [Tujia, Miao])."""
    groups: list[str] = []
    while base.endswith("族"):
        stem = base[:-1]
        group = next((g for g in sorted(ETHNIC_GROUPS, key=len, reverse=True) if stem.endswith(g)), None)
        if group is None or len(stem) == len(group):
            break
        if ETHNIC_GROUPS[group]:
            groups.insert(0, ETHNIC_GROUPS[group])
        base = stem[: -len(group)]
    return base, groups


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@functools.lru_cache(maxsize=8192)
def place_name_in_english(name: str, level: int | None = None) -> str:
    """A Chinese place name as English writes it: 遂昌县 → Suichang County, 阳山镇 → Yangshan Town,
    大竹小村 → Dazhuxiao Village, 丽水市 (a city) → Lishui. ``level`` is the region's ``Region.Level``; it
    gives the term for a name without a known suffix and leaves provinces and cities bare."""
    name = name.strip()
    if not name:
        return ""
    suffix, term = next(
        ((s, t) for s, t in SUFFIX_TERMS if name.endswith(s) and len(name) > len(s)), ("", "")
    )
    base = name[: len(name) - len(suffix)]
    if not suffix:
        term = LEVEL_TERMS.get(level or 0, "") if level not in BARE_AT_LEVEL else ""
    elif suffix in BARE_AT_LEVEL.get(level or 0, frozenset()):
        term = ""
    groups: list[str] = []
    if suffix.startswith("自治") or suffix in {"民族乡", "乡"}:
        base, groups = _ethnic_groups(base)
        if groups and suffix == "乡":  # 大坝苗族乡: a township of an ethnic group
            term = "Ethnic Township"
    words = [pinyin_word(base)]
    if groups:
        words.append(_joined(groups))
    if term:
        words.append(term)
    return " ".join(words)
