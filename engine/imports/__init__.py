"""Importing records from CSV, XLSX and JSON Lines files: read, map columns to fields,
convert values, plan every row (the dry run), then write the plan in resumable chunks."""
