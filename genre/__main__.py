"""``python -m genre`` runs the ``genre`` command line."""

from __future__ import annotations

import sys

from genre.cli import main

if __name__ == "__main__":
    sys.exit(main())
