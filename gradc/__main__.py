"""python -m gradc: the command line."""
import sys

from gradc.cli.main import main

sys.exit(main())
