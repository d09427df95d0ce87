"""``report --output``: a regular file (or a new path) is replaced atomically; a symlink is
followed and its target gets the same rule; a FIFO or character device is written through,
never replaced; ``/dev/stdout`` writes to whatever the caller redirected; a directory gets
the report's file name; a socket is refused. No test here writes to a device file, so a
bug can never replace one, even as root."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading

import pytest
from freezegun import freeze_time

from monitor.cli import main
from tests.support.report_month import NOW, in_october, october  # noqa: F401

pytestmark = pytest.mark.usefixtures("in_october")
ARGS = ["report", "--config", "config.toml", "--month", "2026-10", "--format", "json"]


def report(capsys, output: str) -> tuple[int, str]:
    with freeze_time(NOW):
        code = main([*ARGS, "--output", output])
    return code, capsys.readouterr().err


@pytest.fixture
def expected(capsys) -> bytes:
    with freeze_time(NOW):
        assert main(ARGS) == 0
    return capsys.readouterr().out.encode()


def test_a_regular_file_is_replaced_whole_keeping_its_mode(capsys, expected, tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o600)
    inode = path.stat().st_ino
    assert report(capsys, str(path)) == (0, "")
    assert path.read_bytes() == expected
    assert path.stat().st_ino != inode  # renamed over, never half-written in place
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_a_symlink_is_followed_and_stays_a_symlink(capsys, expected, tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "r.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to("real/r.json")  # relative, as `ln -s` makes them
    assert report(capsys, str(link)) == (0, "")
    assert link.is_symlink() and os.readlink(link) == "real/r.json"
    assert target.read_bytes() == expected


def test_a_chain_of_symlinks_and_a_dangling_one(capsys, expected, tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("new.json")  # does not exist yet: made, by the same rule
    assert report(capsys, str(tmp_path / "a")) == (0, "")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    assert (tmp_path / "new.json").read_bytes() == expected


def test_a_symlink_loop_is_one_line(capsys, tmp_path):
    (tmp_path / "x").symlink_to("y")
    (tmp_path / "y").symlink_to("x")
    code, err = report(capsys, str(tmp_path / "x"))
    assert code == 1
    assert err == f"slurm-sla: cannot write {tmp_path}/x: Too many levels of symbolic links\n"


def test_a_fifo_is_written_through_and_stays_a_fifo(capsys, expected, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert report(capsys, str(fifo)) == (0, "")
    reader.join(timeout=30)
    assert got == [expected]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_to_a_fifo_writes_through_it(capsys, expected, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert report(capsys, str(tmp_path / "link")) == (0, "")
    reader.join(timeout=30)
    assert got == [expected] and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_directory_gets_the_reports_file_name(capsys, expected, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "to-d").symlink_to("d")
    assert report(capsys, str(tmp_path / "to-d")) == (0, "")
    assert (tmp_path / "d" / "slurm-sla-report-2026-10.json").read_bytes() == expected


def test_a_socket_is_refused(capsys, tmp_path):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        code, err = report(capsys, str(path))
    assert code == 1
    assert err == f"slurm-sla: cannot write {path}: not a file, FIFO or character device\n"
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_an_unopened_descriptor_is_one_line(capsys, tmp_path):
    code, err = report(capsys, "/dev/fd/987")
    assert code == 1 and err == "slurm-sla: cannot write /dev/fd/987: Bad file descriptor\n"


def _subprocess(output: str, stdout) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *ARGS, "--output", output],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )


def test_dev_stdout_to_a_pipe(expected):
    result = _subprocess("/dev/stdout", subprocess.PIPE)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == expected


def test_dev_stdout_redirected_to_a_file_appends_where_the_caller_is(expected, tmp_path):
    # `{ echo header; slurm-sla report --output /dev/stdout; } > out`: the header stays.
    out = tmp_path / "out"
    with out.open("wb") as f:
        f.write(b"header\n")
        f.flush()
        inode = os.fstat(f.fileno()).st_ino
        result = _subprocess("/dev/stdout", f)
    assert (result.returncode, result.stderr) == (0, b"")
    assert out.read_bytes() == b"header\n" + expected
    assert out.stat().st_ino == inode  # written through the descriptor, never replaced
