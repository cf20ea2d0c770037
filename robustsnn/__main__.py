"""``python -m robustsnn`` is the ``robustsnn`` command."""

import sys

from .cli import main

sys.exit(main())
