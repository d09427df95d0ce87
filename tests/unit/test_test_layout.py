"""Test helpers live in tests/support/, and no module under tests/ imports a test module
(issue 14): a helper a second test module needs moves to tests/support/, which imports only
the code under test and other support."""

from __future__ import annotations

from pathlib import Path

from tests.support.layout import (
    REPO,
    helpers_named_like_tests,
    imports_of_test_modules,
    support_overreach,
)


def test_no_module_under_tests_imports_a_test_module():
    found = imports_of_test_modules(REPO / "tests")
    assert not found, "move the helper to tests/support/:\n" + "\n".join(
        imp.describe() for imp in found
    )


def test_support_imports_only_the_code_under_test_and_other_support():
    found = support_overreach(REPO / "tests" / "support")
    assert not found, "\n".join(imp.describe() for imp in found)


def test_every_test_module_holds_tests_and_support_holds_none():
    assert helpers_named_like_tests(REPO / "tests") == [], "helpers go to tests/support/"
    assert not list((REPO / "tests" / "support").rglob("test_*.py"))


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checker_sees_late_relative_and_by_name_imports(tmp_path):
    repo = _tree(
        tmp_path,
        {
            "monitor/__init__.py": "",
            "bench/__init__.py": "",
            "tests/__init__.py": "",
            "tests/unit/__init__.py": "",
            "tests/unit/test_a.py": "def test_x():\n    from tests.unit.test_b import helper\n",
            "tests/unit/test_b.py": "from . import test_c\nfrom .test_d import thing\n",
            "tests/unit/test_c.py": "import importlib\nimportlib.import_module('tests.test_e')\n",
            "tests/unit/test_ok.py": (
                "from tests.support.helpers import test_data_dir\nclass TestOk:\n    pass\n"
            ),
            "tests/support/__init__.py": "",
            "tests/support/helpers.py": (
                "import json\nimport pytest\nfrom monitor import x\nfrom . import fakes\n"
                "from tests.cluster.lab import Lab\n"
                "def f():\n    from tests.integration.common import y\n    import bench.common\n"
            ),
        },
    )
    found = {(i.path, i.line, i.target) for i in imports_of_test_modules(repo / "tests", repo)}
    assert found == {
        ("tests/unit/test_a.py", 2, "tests.unit.test_b"),
        ("tests/unit/test_b.py", 1, "tests.unit.test_c"),
        ("tests/unit/test_b.py", 2, "tests.unit.test_d"),
        ("tests/unit/test_c.py", 2, "tests.test_e"),
    }  # test_ok imports a name from a support module, which is no module of its own
    over = {(i.line, i.target) for i in support_overreach(repo / "tests" / "support", repo)}
    assert over == {(7, "tests.integration.common"), (8, "bench.common")}
    # test_b and test_c hold no test: helpers named like tests
    assert helpers_named_like_tests(repo / "tests", repo) == [
        "tests/unit/test_b.py",
        "tests/unit/test_c.py",
    ]
