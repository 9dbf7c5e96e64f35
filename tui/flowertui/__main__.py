"""`python -m flowertui` runs the same entry point as the console script."""

from flowertui.cli import main

raise SystemExit(main())
