"""``--device``: which processor runs the models, for the commands that run them (look, serve,
doctor). One choice for the whole process, handed to the session factory before any model loads.
"""

from __future__ import annotations

import argparse

from companion import branding
from companion.inference.session import DEVICES, use_device


def add_device_option(parser: argparse.ArgumentParser) -> None:
    default = branding.current().device
    parser.add_argument(
        "--device", choices=DEVICES, default=None,
        help=f"where the models run (default: {default}): auto takes the best this computer "
        "offers (an NVIDIA GPU through CUDA, DirectML on Windows, Core ML on a Mac) and falls "
        "back to the CPU when it cannot start; cpu always works")


def apply_device(args: argparse.Namespace) -> None:
    """Hand the chosen (or the brand's default) device to the session factory."""
    if "device" in vars(args):
        use_device(args.device or branding.current().device)
