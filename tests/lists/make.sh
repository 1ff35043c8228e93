#!/usr/bin/env bash
# The spreadsheet files the list tests read, made by a real spreadsheet program from the
# README's sample list (docs/today.csv, dates as a US Excel writes them: 12/01/2026):
#   libreoffice-today.xlsx  LibreOffice Calc opened the CSV as US English (dates become
#                           date cells) and saved it as an Excel workbook;
#   libreoffice-today.csv   LibreOffice Calc saved that workbook as CSV (UTF-8), as a
#                           clinic's "save as CSV" does: US dates with two-digit years.
# Run again only to remake them (Debian's libreoffice-calc, headless; not needed to test):
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/../../docs/today.csv" "$work/libreoffice-today.csv"
soffice --headless --infilter="CSV:44,34,76,1,,1033" --convert-to xlsx --outdir "$work" "$work/libreoffice-today.csv"
mkdir "$work/csv"
soffice --headless --convert-to "csv:Text - txt - csv (StarCalc):44,34,76,1" --outdir "$work/csv" \
  "$work/libreoffice-today.xlsx"
cp "$work/libreoffice-today.xlsx" "$work/csv/libreoffice-today.csv" "$here/"
