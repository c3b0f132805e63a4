"""The spreadsheet words (kpi/exports/words/<lang>.toml): written per language, read in all."""

from __future__ import annotations

import pytest

from kpi.exports import columns

WRITTEN = (
    columns.SHEETS,
    columns.HEADERS,
    columns.STATUSES,
    columns.SOURCES,
    columns.PERIOD_NAMES,
)


@pytest.mark.parametrize("table", WRITTEN)
def test_every_written_word_exists_in_every_language(table: object) -> None:
    languages = set(columns._files())
    assert languages >= {"vi", "en"}
    for key, written in table.items():  # type: ignore[attr-defined]
        assert set(written) == languages, key


def test_an_exports_status_words_are_read_back_in_either_language() -> None:
    index = columns.status_index()
    assert index[columns.fold("được tính")] == "active"
    assert index[columns.fold("counts")] == "active"
    assert index[columns.fold("chờ duyệt")] == "pending"
    assert "vi" not in index and "en" not in index


def test_headers_are_read_in_either_language_with_or_without_diacritics() -> None:
    roles = columns.header_roles()
    assert roles[columns.fold("Ngày")] == "date" == roles[columns.fold("Date")]
    assert roles[columns.fold("Nhan vien")] == "member" == roles[columns.fold("Member")]
    assert roles[columns.fold("Doanh số")] == "revenue" == roles[columns.fold("Revenue")]
    assert roles[columns.fold("Cuộc gọi")] == "metric:calls" == roles[columns.fold("Calls")]
    assert roles[columns.fold("Mã mục")] == "entry_id"
    assert "vi" not in roles and "en" not in roles
