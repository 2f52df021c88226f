"""`sls-console report --month YYYY-MM FILE --as STAFF`: a PDF drawn offscreen, or a CSV, recorded first."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest

from tests.test_import_export_cli import main, url  # noqa: F401 - the signed-in CLI fixture


def audit_actions(tmp_path) -> list[str]:
    con = sqlite3.connect(tmp_path / "cli.sqlite3")
    try:
        return [r[0] for r in con.execute("SELECT action FROM audit_entries ORDER BY id")]
    finally:
        con.close()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (scripts/setup.sh installs it)")
def test_report_pdf_from_the_command_line(url, tmp_path, capsys):  # noqa: F811
    """The command writes a PDF whose text names the month and its author, and records it."""
    target = tmp_path / "november.pdf"
    assert main(["--database", url, "report", "--month", "2026-11", str(target)]) == 0
    assert "Wrote the monthly report 2026-11" in capsys.readouterr().out
    text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
    assert "SLS monthly report 2026-11" in text and "Bob Office (boff01, Back office)" in text
    assert audit_actions(tmp_path)[-1] == "report.produced"


def test_report_refused_to_help_desk_and_for_a_bad_month(url, tmp_path, capsys):  # noqa: F811
    """Help desk may not take figures out; 'November' is not a month; neither writes a file."""
    assert main(["--database", url, "report", "--month", "2026-11", str(tmp_path / "r.csv"), "--as-agent"]) == 2
    assert "may not export data" in capsys.readouterr().err
    assert main(["--database", url, "report", "--month", "November", str(tmp_path / "r.csv")]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
    assert "report.produced" not in audit_actions(tmp_path)
