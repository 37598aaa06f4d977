"""``python -m lmlens ...`` runs the command line (see ``lmlens.cli``)."""

from .cli import main

raise SystemExit(main())
