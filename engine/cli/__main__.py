"""`python -m engine.cli` is the `loom` command."""
import sys

from engine.cli import main

sys.exit(main())
