"""python -m gradc: the command line."""
import sys

from gradc.cli import main

sys.exit(main())
