"""`python -m salfom_core ...` runs the `salfom` command line (and lets torchrun start it:
`torchrun --nproc_per_node N -m salfom_core predict ...`)."""
import sys

from .cli import main

sys.exit(main())
