"""`python -m console` runs the same command line as `sls-console`."""

from console.cli import main

raise SystemExit(main())
