"""`python -m salfom_core ...` runs the `salfom` command line (and lets torchrun start it:
`torchrun --nproc_per_node N -m salfom_core predict ...`)."""
import sys

from .cli import main

if __name__ == "__main__":      # not in the worker processes `evaluate --jobs` spawns
    sys.exit(main())
