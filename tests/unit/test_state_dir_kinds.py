"""A state_dir that is not a directory says what it is (it said "is not a directory, not
a directory" for /dev/null and for a symlink loop)."""

from __future__ import annotations

from pathlib import Path

from monitor.store.opening import state_dir_problem


def test_each_kind_of_non_directory_is_named(tmp_path):
    loop_a, loop_b, dangling = tmp_path / "a", tmp_path / "b", tmp_path / "dangling"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    dangling.symlink_to(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    expected = {
        Path("/dev/null"): "state_dir /dev/null is a device, socket or FIFO, not a directory",
        loop_a: f"state_dir {loop_a} is a symbolic link to nothing (missing target, or a loop),"
        " not a directory",
        dangling: f"state_dir {dangling} is a symbolic link to nothing (missing target, or a "
        "loop), not a directory",
        tmp_path / "f": f"state_dir {tmp_path / 'f'} is a file, not a directory",
        tmp_path / "f" / "sub": f"state_dir {tmp_path / 'f' / 'sub'}: {tmp_path / 'f'} is a "
        "file, not a directory",
    }
    for path, message in expected.items():
        assert state_dir_problem(path) == message
