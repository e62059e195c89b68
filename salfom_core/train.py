"""Compatibility: `salfom_core.train` as it was before the training package.

`torchrun --nproc_per_node N -m salfom_core.train --config run.toml` runs `salfom train`, and
`salfom_core.train.TrainConfig` / `train` are the training package's own.
"""
import sys

from .training import TrainConfig, train

__all__ = ["TrainConfig", "train", "main"]


def main(argv=None) -> int:
    """torchrun's entry point: `salfom train` with these arguments."""
    from .cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
