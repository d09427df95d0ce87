"""The modules of monitor/ and exporters/ import each other without a cycle, counting imports
inside functions (a late import only postpones a cycle to the first call), and nothing shipped
imports the tests. Reading the config stays cheap: it loads no sender, scheduler or exporter.

How the graph is read (packages, lazy imports by name): tests/support/import_graph.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.support.import_graph import REPO, Graph, module_files, raw_imports


def test_no_import_cycle_among_monitor_and_exporters():
    graph = Graph.build()
    cycles = graph.cycles()
    report = "\n".join(f"  {' -> '.join(cycle)}\n    {graph.describe(cycle)}" for cycle in cycles)
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_nothing_shipped_imports_the_tests():
    files = module_files()
    offenders = [
        f"{files[module].relative_to(REPO)}:{line} imports {name}"
        for module in files
        for name, line in raw_imports(module, files)
        if name == "tests" or name.startswith("tests.")
    ]
    assert not offenders, "\n".join(offenders)


# What reading the config must not pull in: the senders' HTTP library, the scheduler and
# the exporter's client library belong to the code that uses them. (An ``email`` receiver's
# options live with its SMTP sender, so a config that declares one loads smtplib, from the
# standard library; a config without one does not.)
HEAVY = ("requests", "urllib3", "smtplib", "email.mime", "apscheduler", "prometheus_client")

HTTP_RECEIVERS = (
    '[[clusters]]\nname = "prod"\n'
    '[[receivers]]\nname = "a"\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
    '[[receivers]]\nname = "b"\ntype = "slack"\nurl = "https://hooks.slack.example/T/B/X"\n'
    '[[receivers]]\nname = "c"\ntype = "pagerduty"\nrouting_key = "R0UT1NGKEY"\n'
    '[[receivers]]\nname = "d"\ntype = "alertmanager"\nurls = ["http://127.0.0.1:9093"]\n'
)


def loaded_after(statements: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``statements``."""
    script = f"import json, sys\n{statements}\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def heavy(loaded: list[str]) -> list[str]:
    return [name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY)]


def test_reading_the_config_loads_no_sender_scheduler_or_exporter():
    assert heavy(loaded_after("import monitor.config")) == []
    statements = textwrap.dedent(
        f"""
        from monitor.config import parse_config
        config = parse_config({HTTP_RECEIVERS!r})
        types = [r.type for r in config.receivers]
        assert types == ["webhook", "slack", "pagerduty", "alertmanager"], types
        """
    )
    assert heavy(loaded_after(statements)) == []


def test_the_checker_sees_late_package_and_by_name_imports(tmp_path):
    """The checker itself: a cycle held only by a function-level import, one through a
    package's __init__, and one through importlib.import_module are all found."""
    root = tmp_path / "monitor"
    (root / "pkg").mkdir(parents=True)
    (tmp_path / "exporters").mkdir()
    files = {
        "monitor/__init__.py": "",
        "exporters/__init__.py": "",
        "monitor/low.py": "def f():\n    from monitor import high\n",
        "monitor/high.py": "from monitor.low import f\n",
        "monitor/pkg/__init__.py": "from monitor.user import thing\n",
        "monitor/pkg/leaf.py": "",
        "monitor/user.py": "from monitor.pkg.leaf import *\nthing = 1\n",
        "monitor/named.py": "import importlib\nimportlib.import_module(f'monitor.by_{1}')\n",
        "monitor/by_one.py": "from . import named\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    cycles = Graph.build(tmp_path).cycles()
    assert ["monitor.high", "monitor.low", "monitor.high"] in cycles
    assert ["monitor.pkg", "monitor.user", "monitor.pkg"] in cycles
    assert ["monitor.by_one", "monitor.named", "monitor.by_one"] in cycles
    # A package's submodule importing a sibling does not depend on the package's __init__.
    assert not any("monitor.pkg.leaf" in cycle for cycle in cycles)
