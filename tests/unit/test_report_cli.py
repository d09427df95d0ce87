"""``slurm-sla report``: every bad input is exit 1 with one readable line on stderr (no
traceback); files are written whole; ``--archive`` writes every configured format and mails
through the email receiver; the ``[report]`` table is validated."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time

from monitor.cli import main
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.report.render_pdf import INSTALL_HINT
from tests.support.mailbox import smtp_server
from tests.support.report_month import CONFIG, NOW, in_october, october  # noqa: F401

# Every test runs in the directory holding the known month's config.toml and state/.
pytestmark = pytest.mark.usefixtures("in_october")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with freeze_time(NOW):
        code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--month", "2026-13"], "slurm-sla: --month: not a month (YYYY-MM): '2026-13'"),
        (["--month", "October"], "slurm-sla: --month: not a month (YYYY-MM): 'October'"),
        (["--month", "9999-12"], "slurm-sla: --month: 9999-12 is outside 1970-01 .. 9998-12"),
        (["--month", "0000-01"], "slurm-sla: --month: 0000-01 is outside 1970-01 .. 9998-12"),
        (["--month", "1969-12"], "slurm-sla: --month: 1969-12 is outside 1970-01 .. 9998-12"),
        (["--month", "9998-12"], "slurm-sla: month 9998-12 is in the future (it is 2026-11 in "
                                 "Europe/Berlin)"),
        (["--month", "2026-00"], "slurm-sla: --month: not a month (YYYY-MM): '2026-00'"),
        (["--month", "\x00"], "slurm-sla: --month: not a month (YYYY-MM): '\\x00'"),
        (["--month", "2026-12"], "slurm-sla: month 2026-12 is in the future (it is 2026-11 in "
                                 "Europe/Berlin)"),
        (["--month", "2026-10", "--cluster", "nope"],
         "slurm-sla: no cluster named 'nope' in config.toml"),
        (["--archive", "--format", "pdf"], "slurm-sla: --archive writes [report] formats into "
                                           "[report] directory: drop --format and --output"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_1(capsys, argv, message):
    code, out, err = run(capsys, "--config", "config.toml", *argv)
    assert (code, out) == (1, "")
    assert one_line(err) == message


def test_no_store_yet(tmp_path, capsys):
    (tmp_path / "config.toml").write_text(CONFIG.replace('"state"', f'"{tmp_path}/none"'))
    code, _, err = run(capsys, "--config", str(tmp_path / "config.toml"), "--month", "2026-10")
    assert code == 4  # could not run
    assert one_line(err).startswith(f"slurm-sla: no state store at {tmp_path}/none/")
    assert not (tmp_path / "none").exists()  # a report never creates a store


def test_corrupt_store(tmp_path, capsys):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "slurm-sla-monitor.sqlite3").write_bytes(b"not a database" * 512)
    (tmp_path / "config.toml").write_text(CONFIG.replace('"state"', f'"{tmp_path}/state"'))
    code, _, err = run(capsys, "--config", str(tmp_path / "config.toml"), "--month", "2026-10")
    assert code == 4
    line = one_line(err)
    assert line.startswith(f"slurm-sla: {tmp_path}/state/slurm-sla-monitor.sqlite3") and (
        "not a database" in line
    ), line


def test_missing_config(tmp_path, capsys):
    code, _, err = run(capsys, "--config", str(tmp_path / "nope.toml"))
    assert code == 4 and one_line(err) == f"{tmp_path}/nope.toml: file not found"


def test_pdf_without_weasyprint_says_how_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as if not installed
    code, out, err = run(capsys, "--config", "config.toml", "--month", "2026-10",
                         "--format", "pdf")  # fmt: skip
    assert (code, out) == (1, "")
    assert one_line(err) == f"slurm-sla: {INSTALL_HINT}"
    assert "pip install 'slurm-sla-monitor[pdf]'" in INSTALL_HINT


def test_default_month_is_the_last_complete_one(capsys):
    code, out, _ = run(capsys, "--config", "config.toml")
    assert code == 0 and out.startswith("# SLA report 2026-10\n")
    code, out, _ = run(capsys, "--config", "config.toml", "--month", "current")
    assert code == 0 and "**Partial: the month is not over.**" in out


def test_output_to_a_file_or_a_directory(capsys):
    code, out, _ = run(capsys, "--config", "config.toml", "--month", "2026-10", "--format",
                       "json", "--output", "out.json")  # fmt: skip
    assert (code, out) == (0, "")
    Path("reports").mkdir(exist_ok=True)
    code, _, _ = run(capsys, "--config", "config.toml", "--month", "2026-10", "--format",
                     "json", "--output", "reports")  # fmt: skip
    assert code == 0
    written = Path("reports/slurm-sla-report-2026-10.json").read_bytes()
    assert written == Path("out.json").read_bytes() and written.startswith(b"{")
    assert not [p for p in Path("reports").iterdir() if p.name.startswith(".")]  # no leftovers


def test_unwritable_output(capsys):
    Path("blocker").write_text("a file, not a directory")
    code, _, err = run(capsys, "--config", "config.toml", "--month", "2026-10",
                       "--output", "blocker/x.md")  # fmt: skip
    assert code == 1 and one_line(err).startswith("slurm-sla: cannot write blocker/x.md:")


# --- --archive and the mail ----------------------------------------------------------------


def archive_config(port: int, directory: str = "archive") -> str:
    return (
        CONFIG
        + f"""
[[receivers]]
name = "admins"
type = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "slurm-sla-monitor@example.org"
to = ["hpc-admins@example.org"]

[report]
directory = "{directory}"
formats = ["md", "json", "csv", "html"]
mail_receiver = "admins"
mail_to = ["account-managers@example.org"]
"""
    )


def test_archive_writes_every_format_and_mails_the_summary(capsys):
    with smtp_server() as (port, box):
        Path("archive.toml").write_text(archive_config(port))
        code, out, err = run(capsys, "--config", "archive.toml", "--archive")
    assert (code, err) == (0, "")
    names = sorted(p.name for p in Path("archive/2026-10").iterdir())
    assert names == [f"slurm-sla-report-2026-10.{x}" for x in ("csv", "html", "json", "md")]
    assert out.splitlines()[-1] == "mailed through admins"
    (msg,) = box.messages
    assert msg["To"] == "account-managers@example.org"
    assert msg["Subject"].startswith("[SLA report 2026-10]")
    body = msg.get_body(("plain",)).get_content()
    assert "SLA report 2026-10: 1 of 2 objectives BREACHED" in body
    assert "prod slurmctld: 99.848 % available against 99.9 %" in body
    assert "archive/2026-10/slurm-sla-report-2026-10.html" in body
    attached = {part.get_filename(): part for part in msg.iter_attachments()}
    assert sorted(attached) == names
    # (SMTP carries text with CRLF line ends)
    html = attached["slurm-sla-report-2026-10.html"].get_content().replace("\r\n", "\n")
    assert html == Path("archive/2026-10/slurm-sla-report-2026-10.html").read_text("utf-8")


def test_archive_reports_a_failed_mail_but_keeps_the_files(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    Path("archive.toml").write_text(archive_config(port, "archive2"))
    code, out, err = run(capsys, "--config", "archive.toml", "--archive")
    assert code == 1 and "connection refused" in one_line(err)
    assert len(list(Path("archive2/2026-10").iterdir())) == 4
    code, _, err = run(capsys, "--config", "archive.toml", "--archive", "--no-mail")
    assert (code, err) == (0, "")


def test_report_table_is_validated():
    base = '[[clusters]]\nname = "prod"\n[[receivers]]\nname = "hook"\ntype = "webhook"\n'
    base += 'url = "http://127.0.0.1:9/"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(base + '[report]\nformats = ["md", "docx"]\nmail_receiver = "hook"\n'
                     'mail_to = ["nobody"]\ncolour = "blue"\n', "c.toml")  # fmt: skip
    assert caught.value.problems == [
        "c.toml:11: report.colour: unknown key",
        "c.toml:8: report.formats[1]: must be one of csv, html, json, md, pdf; got 'docx'",
        "c.toml:9: report.mail_receiver: receiver 'hook' is not of type email",
        "c.toml:10: report.mail_to[0]: not an address: 'nobody'",
    ]
    cfg = parse_config(base)
    assert cfg.report.formats == ("md", "html", "json", "csv") and not cfg.report.mail_receiver
