"""``python -m medseg`` runs the ``medseg`` command (``torchrun --nproc-per-node N -m medseg train ...``)."""

import sys

from medseg.cli.main import main

sys.exit(main())
