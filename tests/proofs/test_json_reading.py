"""JSON is read as the standard library reads it, whether orjson is installed or not: the
same values of the same types, and the same refusal of what is not JSON. The audit
package's verifier reads its entries so, and so does every json and jsonb column."""

from __future__ import annotations

import json
from typing import Any

import pytest

from application.proofs import entries
from application.proofs.entries import loads

TEXTS = [
    '{"CNY": "1250.00", "count": 3, "ratio": 0.1, "ok": true, "none": null}',
    "[1, -2, 3.5, 1e-400, 1E+2, -0, 0.30000000000000004440892098500626]",
    "9223372036854775807",  # the largest 64-bit integer: orjson reads it exactly
    "-9223372036854775808",
    "18446744073709551615",
    # Beyond 64 bits: orjson would read these as floats.
    "18446744073709551616",
    "-9223372036854775809",
    '{"amount": 123456789012345678901234567890}',
    '[{"nested": [1, 2, {"deep": 99999999999999999999}]}]',
    "1e400",  # beyond a float: the standard library reads infinity, orjson refuses
    "[Infinity, -Infinity]",  # the standard library's extension: orjson refuses
    '"\\ud800"',  # a lone surrogate: the standard library keeps it, orjson refuses
    '"汉字 and \\u00e9"',
    '{"a": 1, "a": 2}',
    '"a string of digits 12345678901234567890 is still a string"',
]


def _typed(value: Any) -> Any:
    """The value with every number's type beside it, so 1 and 1.0 differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", TEXTS)
def test_every_text_is_read_as_the_standard_library_reads_it(text: str) -> None:
    expected = _typed(json.loads(text))
    assert _typed(loads(text)) == expected
    assert _typed(loads(text.encode())) == expected


@pytest.mark.parametrize("text", ["", "{", "[1,]", "{'a': 1}", "01", "\xff", "[1] 2"])
def test_what_is_not_json_is_refused_as_the_standard_library_refuses_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        loads(text)


def test_without_orjson_the_standard_library_reads_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entries, "_fast", None)
    for text in TEXTS:
        assert _typed(loads(text)) == _typed(json.loads(text))


def test_orjson_reads_what_it_reads_as_the_standard_library_does() -> None:
    """The case the fast path exists for is taken by it: a text orjson reads alike."""
    read: list[object] = []
    fast = entries._fast
    assert fast is not None

    def counted(text: bytes | str) -> Any:
        read.append(text)
        return fast(text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(entries, "_fast", counted)
        assert loads(TEXTS[0]) == json.loads(TEXTS[0])
        assert loads("18446744073709551616") == 18446744073709551616
    assert read == [TEXTS[0]]
