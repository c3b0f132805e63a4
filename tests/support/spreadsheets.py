"""The realistic spreadsheet the import tests use: a merged title, Vietnamese headers, bad rows."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook

GOOD = [
    (1, dt.datetime(2026, 10, 1), "Trần Minh", 20, 2, 1, "45tr"),
    (2, "02/10/2026", "@hoa_le", 15, 1, 0, ""),
    (3, "10/2026", "Phạm Thu", 300, 20, 4, "1,2 tỷ"),
    (4, "05/10/2026", "minh tran", 400, None, None, None),
    (5, "05/10/2026", "minh tran", 400, None, None, None),  # the same again: counted twice
]
BAD = [
    (6, "31/02/2026", "Minh Trần", 5, None, None, None),
    (7, "03/10/2026", "Hoa Lê", "12O", None, None, None),
]


def workbook(rows: list[tuple[Any, ...]]) -> bytes:
    """Build the kind of file a leader keeps: a title, a blank row, headers, data, totals."""
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "BÁO CÁO KPI THÁNG 10/2026 - ĐỘI KINH DOANH HCM"
    ws.merge_cells("A1:G1")
    ws.append([])
    ws.append(["STT", "Ngày", "Nhân viên", "Cuộc gọi", "Cuộc hẹn", "Hợp đồng", "Doanh số"])
    for row in rows:
        ws.append(list(row))
    ws.append([None, None, "Tổng cộng", 9999, 99, 9, "9 tỷ"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
