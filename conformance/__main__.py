"""`python -m conformance`: the same as the `oauth2-conformance` command."""

import sys

from conformance.tools.cli import main

sys.exit(main())
