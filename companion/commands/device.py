"""``--device``: which processor runs the models, for the commands that run them (look, serve,
doctor). One choice for the whole process, handed to the session factory before any model loads.
"""

from __future__ import annotations

import argparse
import os

from companion import branding
from companion.inference.session import DEVICES, PROVIDER_ENV, use_device


def add_device_option(parser: argparse.ArgumentParser) -> None:
    default = branding.current().device
    parser.add_argument(
        "--device", choices=DEVICES, default=None,
        help=f"where the models run (default: {default}): auto takes the best this computer "
        "offers (an NVIDIA GPU through CUDA, DirectML on Windows, Core ML on a Mac) and falls "
        "back to the CPU when it cannot start; cpu always works")


def apply_device(args: argparse.Namespace) -> None:
    """Hand the chosen device to the session factory: --device, else the deprecated
    $SHOP_THE_LOOK_PROVIDER (which the factory reads, and warns about), else the brand's."""
    if "device" not in vars(args):
        return
    if args.device is None and os.environ.get(PROVIDER_ENV):
        use_device(None)
    else:
        use_device(args.device or branding.current().device)
