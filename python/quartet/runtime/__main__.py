"""``python -m quartet.runtime ARTIFACT --device cuda --bench N`` (see quartet.runtime.cli)."""

import sys

from quartet.runtime.cli import main

sys.exit(main())
