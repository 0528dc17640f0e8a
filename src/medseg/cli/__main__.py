"""``python -m medseg.cli`` runs the ``medseg`` command."""

import sys

from medseg.cli.main import main

sys.exit(main())
