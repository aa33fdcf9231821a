import sys

from ragbench.cli import main

sys.exit(main())
