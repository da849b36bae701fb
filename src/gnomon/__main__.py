"""``python -m gnomon`` is the same as the ``gnomon`` command."""

from gnomon.cli.main import main

raise SystemExit(main())
