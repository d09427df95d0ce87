"""python3 -m tests.cluster: the lab's command line (see cli.py)."""

import sys

from tests.cluster.cli import main

sys.exit(main())
