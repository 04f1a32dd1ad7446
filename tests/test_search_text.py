"""How search folds and indexes text (no database): the keys of names, phones, emails and
documents, and the grams that find every key holding a query."""

from __future__ import annotations

import pytest

from projections.search.text import (
    all_grams,
    entry_keys,
    fold,
    match_rank,
    name_keys,
    phone_keys,
    pinyin_keys,
    query_grams,
    query_key,
)


def test_fold_is_nfkc_casefolded_letters_and_digits() -> None:
    assert fold("ＡＢＣ") == "abc"
    assert fold("ABC Precision-Molding Co., Ltd.") == "abcprecisionmoldingcoltd"
    assert fold("Straße") == "strasse"
    assert fold("AWB 999-5382 9639") == "awb99953829639"
    assert fold("苏州 华芯（电子）") == "苏州华芯电子"
    assert fold("１２３") == "123"
    assert fold(" -- !! ") == ""


def test_chinese_names_have_their_pinyin_and_initials() -> None:
    assert name_keys("苏州华芯电子有限公司") == [
        "苏州华芯电子有限公司",
        "suzhouhuaxindianziyouxiangongsi",
        "szhxdzyxgs",
    ]
    # Latin within a Chinese name stays whole in both.
    assert pinyin_keys("ABC物流") == ["abcwuliu", "abcwl"]
    # A character read two ways is read as in its word.
    assert pinyin_keys("重庆")[0] == "chongqing"
    assert pinyin_keys("Lakeshore Trucking") == []
    assert name_keys("Lakeshore Trucking") == ["lakeshoretrucking"]


def test_phones_by_their_digits_with_and_without_chinas_country_code() -> None:
    assert phone_keys("+86 138-0013 8000") == ["8613800138000", "13800138000"]
    assert phone_keys("0086 (21) 5555 0101") == ["00862155550101", "2155550101"]
    assert phone_keys("0512 6688 1234") == ["051266881234"]
    assert phone_keys("n/a") == []
    assert query_key("+86 138 0013 8000") == "13800138000"
    assert query_key("138-0013-8000") == "13800138000"
    assert query_key("８６１３８００１３８０００") == "8613800138000"
    # Not a phone number: folded as text.
    assert query_key("SZV-251110") == "szv251110"


def test_an_entrys_keys_by_its_kind() -> None:
    assert entry_keys("contact", ["王建国", "+86 138 0013 8000", "Wang@Huaxin.cn"]) == [
        "王建国",
        "wangjianguo",
        "wjg",
        "8613800138000",
        "13800138000",
        "wanghuaxincn",
    ]
    assert entry_keys("shipment", ["SZV-251110-007", "AWB 999-53829639", None]) == [
        "szv251110007",
        "awb99953829639",
    ]


@pytest.mark.parametrize(
    ("key", "query"),
    [
        ("苏州华芯电子有限公司", "华芯"),
        ("苏州华芯电子有限公司", "芯"),
        ("苏州华芯电子有限公司", "有限公司"),
        ("suzhouhuaxindianziyouxiangongsi", "huaxin"),
        ("szhxdzyxgs", "hxdz"),
        ("szhxdzyxgs", "sz"),
        ("szhxdzyxgs", "s"),
        ("awb99953829639", "53829639"),
        ("abc物流co", "c物流"),
    ],
)
def test_every_key_holding_a_query_holds_its_grams(key: str, query: str) -> None:
    assert match_rank(key, query) is not None
    assert set(query_grams(query)) <= set(all_grams([key]))


def test_a_short_latin_query_is_looked_for_at_the_start_of_keys() -> None:
    assert query_grams("hx") == ["^hx"]
    assert "^hx" in all_grams(["hxdz"])
    assert "^hx" not in all_grams(["szhxdz"])
    assert query_grams("华芯") == ["华芯"]


def test_match_ranks() -> None:
    assert match_rank("华芯", "华芯") == 0
    assert match_rank("华芯贸易", "华芯") == 1
    assert match_rank("苏州华芯", "华芯") == 2
    assert match_rank("苏州", "华芯") is None
