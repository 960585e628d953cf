"""``python -m recsys`` runs the ``recsys`` command."""

from recsys.cli import main

raise SystemExit(main())
