"""Data in and out: XLSX / CSV exports of a team, spreadsheet imports (see README, "Excel")."""
