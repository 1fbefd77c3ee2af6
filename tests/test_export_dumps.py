"""``export.dumps`` writes format 2's columns itself (docs/sphinx.rst, "The JSON data file"):
its text is exactly ``json.dumps``'s, compact and HTML-safe, whatever the columns hold."""

from __future__ import annotations

import json

import pytest

from sphinxcontrib_scmmonitor import export


def reference(doc: object) -> str:
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@pytest.mark.parametrize("column", [
    [], [7], [7, 7], [7, 86400], [1, 1, 1], [5, 1, 1, 1], [1, 86400, 86400, 86400],
    [1_700_000_000, 86400, 172800, 86400], [0, 0, 0, 0], [-3, -3, -3], [2, 1, 2, 1],
    [86400, 86400, 86400, 0],
])
def test_a_column_is_written_as_json_dumps_writes_it(column: list[int]) -> None:
    doc = {"format": 2, "node": "C", "series": [
        {"name": "<b>&x</b>\u2028", "reasons": [{"detail": "</script>"}],
         "t": column, "size": list(reversed(column)), "count": column[:2]}],
        "runs": [{"error": "a <&> b"}]}
    text = export.dumps(doc)
    assert text == reference(doc)
    assert text.isascii() and not any(ch in text for ch in "<>&")


def test_a_column_that_is_not_all_integers_is_still_plain_json() -> None:
    doc = {"series": [{"t": [1, 1.5, 1.5, 1.5], "size": [True, True, True],
                       "count": ["<", "<", "<"]}]}
    assert export.dumps(doc) == reference(doc)
