import sys

from monitor.launch import main

sys.exit(main())
