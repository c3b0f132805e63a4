"""The spreadsheet vocabulary: sheet and column names written per language, headers read back.

Export names are data here (not in the handlers' catalogs) because the workbook is built in
`kpi/`, which knows nothing of the bot's translation layer; the same table tells the importer
which column is which, in Vietnamese or English, with or without diacritics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from kpi import parsing
from kpi.names import Names, name_in

# --- what an export writes ---------------------------------------------------------------------

SHEETS: Mapping[str, Names] = MappingProxyType(
    {
        "activities": {"vi": "Hoạt động", "en": "Activities"},
        "summary": {"vi": "Tổng hợp", "en": "Summary"},
        "targets": {"vi": "Chỉ tiêu", "en": "Targets"},
    }
)

# The raw activities sheet, in order; the importer reads this layout back (one row per entry).
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "date",
    "member",
    "metric",
    "value",
    "amount",
    "customer",
    "new_customer",
    "note",
    "status",
    "source",
    "logged_by",
    "changed_by",
    "entry_id",
)

HEADERS: Mapping[str, Names] = MappingProxyType(
    {
        "date": {"vi": "Ngày", "en": "Date"},
        "member": {"vi": "Nhân viên", "en": "Member"},
        "metric": {"vi": "Chỉ số", "en": "Metric"},
        "value": {"vi": "Giá trị", "en": "Value"},
        "amount": {"vi": "Số tiền (VND)", "en": "Amount (VND)"},
        "customer": {"vi": "Khách hàng", "en": "Customer"},
        "new_customer": {"vi": "Khách mới", "en": "New customer"},
        "note": {"vi": "Ghi chú", "en": "Note"},
        "status": {"vi": "Trạng thái", "en": "Status"},
        "source": {"vi": "Nguồn", "en": "Source"},
        "logged_by": {"vi": "Người ghi", "en": "Logged by"},
        "changed_by": {"vi": "Người sửa", "en": "Changed by"},
        "entry_id": {"vi": "Mã mục", "en": "Entry id"},
        "rank": {"vi": "Hạng", "en": "Rank"},
        "score": {"vi": "Điểm KPI", "en": "KPI score"},
        "kpi": {"vi": "KPI", "en": "KPI"},
        "period": {"vi": "Kỳ", "en": "Period"},
        "target": {"vi": "Chỉ tiêu", "en": "Target"},
        "from": {"vi": "Áp dụng từ", "en": "In force from"},
        "actual_suffix": {"vi": "thực hiện", "en": "actual"},
        "target_suffix": {"vi": "chỉ tiêu", "en": "target"},
        "attainment_suffix": {"vi": "% đạt", "en": "% attained"},
        "everyone": {"vi": "Mặc định mỗi người", "en": "Default per member"},
        "erased": {"vi": "(đã xoá)", "en": "(erased)"},
    }
)

STATUSES: Mapping[str, Names] = MappingProxyType(
    {
        "active": {"vi": "được tính", "en": "counts"},
        "pending": {"vi": "chờ duyệt", "en": "pending approval"},
        "voided": {"vi": "đã huỷ", "en": "voided"},
        "rejected": {"vi": "bị từ chối", "en": "rejected"},
        "replaced": {"vi": "đã thay", "en": "replaced"},
    }
)

SOURCES: Mapping[str, Names] = MappingProxyType(
    {
        "import": {"vi": "nhập từ tệp", "en": "imported"},
        "monthly": {"vi": "nhập tổng tháng", "en": "imported monthly total"},
        "chat": {"vi": "Telegram", "en": "Telegram"},
    }
)

PERIOD_NAMES: Mapping[str, Names] = MappingProxyType(
    {
        "day": {"vi": "ngày", "en": "day"},
        "week": {"vi": "tuần", "en": "week"},
        "month": {"vi": "tháng", "en": "month"},
        "quarter": {"vi": "quý", "en": "quarter"},
        "year": {"vi": "năm", "en": "year"},
    }
)


def word(table: Mapping[str, Names], key: str, lang: str) -> str:
    """Return a table's word in a language (the default language's where it has none)."""
    return name_in(table[key], lang)


def header(key: str, lang: str) -> str:
    """Return a column's header in a language."""
    return word(HEADERS, key, lang)


# --- what an import reads ----------------------------------------------------------------------

# Columns that describe the row (folded header -> role).
_ROLE_HEADERS: dict[str, Iterable[str]] = {
    "date": ("ngay", "date", "day", "ngay thang", "thoi gian", "thang", "month", "ky", "period"),
    "member": (
        "nhan vien",
        "ten nhan vien",
        "nhan vien kinh doanh",
        "ho ten",
        "ho va ten",
        "ten",
        "nguoi",
        "member",
        "name",
        "rep",
        "sales rep",
        "salesperson",
        "employee",
        "username",
    ),
    "metric": ("chi so", "loai", "hoat dong", "metric", "activity", "type", "kpi"),
    "value": ("gia tri", "so luong", "value", "count", "quantity", "qty"),
    "amount": ("so tien", "so tien (vnd)", "gia tri hop dong", "amount", "amount (vnd)"),
    "customer": ("khach hang", "ten khach hang", "customer", "client"),
    "new_customer": ("khach moi", "khach hang moi", "new customer", "new"),
    "note": ("ghi chu", "note", "notes", "comment"),
    "status": ("trang thai", "status"),
    # An export's own entry ids: a row naming an entry the team has is not stored again.
    "entry_id": ("ma muc", "entry id"),
}

# Columns that carry one metric's figure (one row per person and day or month).
_METRIC_HEADERS: dict[str, Iterable[str]] = {
    "calls": ("cuoc goi", "so cuoc goi", "goi", "goi dien", "calls", "call"),
    "emails": ("email", "emails", "so email"),
    "meetings": ("cuoc hen", "so cuoc hen", "hen", "gap khach", "meetings", "meeting"),
    "demos": ("demo", "demos"),
    "leads": ("khach tiem nang", "khach hang tiem nang", "leads", "lead", "new leads"),
    "proposals": ("bao gia", "so bao gia", "proposals", "proposal", "quotes"),
    "deals": ("hop dong", "so hop dong", "hop dong chot", "chot", "deals", "deal", "deals closed"),
    "lost": ("hop dong truot", "truot", "lost", "lost deals"),
    # Revenue is the deals' money: stored on the deals entry of the row.
    "revenue": ("doanh so", "doanh thu", "revenue", "sales", "doanh so (vnd)", "revenue (vnd)"),
}


def fold(text: object) -> str:
    """Fold a header or a name for comparison: lower case, no diacritics, single spaces."""
    return parsing.normalize_text(str(text)).strip(" :*")


def name_key(name: str) -> str:
    """Fold a name so that `Trần Minh`, `minh tran` and `Minh  Trần` are one person."""
    return " ".join(sorted(fold(name).split()))


def header_roles(
    extra_metrics: Mapping[str, Iterable[str]] = MappingProxyType({}),
) -> dict[str, str]:
    """Return folded header -> role (`date`, `member`, ...) or `metric:<key>` / `revenue`."""
    out: dict[str, str] = {}
    for key, names in _METRIC_HEADERS.items():
        for n in names:
            out[fold(n)] = "revenue" if key == "revenue" else f"metric:{key}"
    for key, names in extra_metrics.items():
        for n in names:
            out.setdefault(fold(n), f"metric:{key}")
    # The describing columns win: "Giá trị" is the value column, never a metric.
    for role, names in _ROLE_HEADERS.items():
        for n in names:
            out[fold(n)] = role
    for key, (vi, en) in HEADERS.items():
        if key in _ROLE_HEADERS:
            out[fold(vi)] = key
            out[fold(en)] = key
    return out


def metric_word_index(metrics: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Return folded metric word -> metric key, for a per-activity file's metric column."""
    out: dict[str, str] = {}
    for key, names in _METRIC_HEADERS.items():
        if key != "revenue":
            for n in names:
                out[fold(n)] = key
    for key, names in metrics.items():
        for n in names:
            out[fold(n)] = key
        out[fold(key)] = key
    return out


def status_index() -> dict[str, str]:
    """Return folded status word (either language) -> status."""
    return {fold(w): key for key, pair in STATUSES.items() for w in pair}
