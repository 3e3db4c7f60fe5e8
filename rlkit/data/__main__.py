"""``python -m rlkit.data``: see ``rlkit.data.cli``."""

import sys

from rlkit.data.cli import main

sys.exit(main())
