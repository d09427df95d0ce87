"""Pure parsers of Slurm command output, one module per command.

Every parser is ``parse(text: str) -> <frozen dataclass>``; the dataclass has ``to_dict()``
giving the document of ``slurm-sla parse KIND`` (Slurm's ``--json`` key names, plain numbers).
Text and ``--json`` forms are detected from the text itself. A parser never touches a clock,
a file or a process and raises :class:`monitor.errors.ParseError` naming the offending line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# KIND (as on the command line) -> module under monitor.parsers. The only place a parser is
# registered; adding a command is one module and one line here.
_MODULES: dict[str, str] = {
    "ping": "ping",
    "sdiag": "sdiag",
    "show-config": "show_config",
    "sacctmgr-ping": "sacctmgr_ping",
    "sacctmgr-stats": "sacctmgr_stats",
    "cluster": "cluster",
    "slurm-conf": "slurm_conf",
}

KINDS: tuple[str, ...] = tuple(_MODULES)


def parser_for(kind: str) -> Callable[[str], Any]:
    """The ``parse`` function of ``kind``; KeyError for a kind we do not parse."""
    module = importlib.import_module(f"monitor.parsers.{_MODULES[kind]}")
    return module.parse
