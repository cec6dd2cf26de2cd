"""``python -m privalytics.cli``: the ``privalytics`` command."""

import sys

from privalytics.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
