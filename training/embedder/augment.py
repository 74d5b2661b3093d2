"""Augmentation (batched, on tensors; colour-truthful): catalog photos made to look like garment
crops cut out of street photos, and street crops jittered.

Garments are cut from their white studio background (the masks of training/embedder/data.py)
and pasted onto street-photo backgrounds (trainval only), zoomed, shifted, tilted, sheared,
flipped, blurred and lit brighter or darker. Hues are never shifted, so the colour labels stay
true.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from training.embedder.data import Catalog, Street

PASTE_P = 0.5  # share of catalog images pasted onto street backgrounds (the default)


def random_affine(n: int, gen: torch.Generator, zoom: tuple[float, float], shift: float,
                  rotate_deg: float, perspective: float) -> torch.Tensor:
    """Per-sample sampling grids' parameters: zoom, aspect, shift, rotation, flip, shear.

    Returns [n,2,3] matrices mapping output to input coordinates (affine_grid convention).
    `zoom` > 1 zooms in (crops a part of the garment, like a tight street box).
    """
    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    s = 1 / u(*zoom)
    aspect = torch.exp(u(-0.15, 0.15))
    angle = u(-rotate_deg, rotate_deg) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shear = u(-perspective, perspective)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = s * aspect * cos * flip
    theta[:, 0, 1] = -s * sin + shear
    theta[:, 1, 0] = s * aspect * sin * flip
    theta[:, 1, 1] = s / aspect * cos
    theta[:, 0, 2] = u(-shift, shift)
    theta[:, 1, 2] = u(-shift, shift)
    return theta


def warp(x: torch.Tensor, theta: torch.Tensor, out: int, fill: float) -> torch.Tensor:
    """Resample x [N,C,H,W] through theta to out x out; outside the source becomes `fill`."""
    grid = F.affine_grid(theta, (x.shape[0], x.shape[1], out, out), align_corners=False)
    return F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False) + fill


def street_backgrounds(street: Street, n: int, out: int, gen: torch.Generator) -> torch.Tensor:
    """Random crops of street photos ([n,3,out,out] float 0..1) to paste garments onto."""
    pick = torch.randint(len(street.backgrounds), (n,), generator=gen)
    src = street.backgrounds[pick].float() / 255
    theta = random_affine(n, gen, zoom=(1.2, 3.0), shift=0.6, rotate_deg=0, perspective=0)
    return warp(src, theta, out, 0.0)


def photometric(x: torch.Tensor, gen: torch.Generator, blur_p: float = 0.3) -> torch.Tensor:
    """Mild brightness/contrast/gamma changes and low-resolution blur; never a hue shift."""
    n = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=gen)).view(n, 1, 1, 1)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.8, 1.2) + mean  # contrast
    x = x * u(0.75, 1.2)  # brightness
    x = x.clamp(0, 1) ** u(0.85, 1.15)  # gamma, same for all channels
    low = torch.rand(n, generator=gen) < blur_p
    if low.any():
        size = x.shape[-1]
        small = int(size * (0.35 + 0.4 * torch.rand(1, generator=gen).item()))
        x_low = F.interpolate(F.interpolate(x[low], size=small, mode="bilinear", antialias=True,
                                            align_corners=False),
                              size=size, mode="bilinear", align_corners=False)
        x = x.clone()
        x[low] = x_low
    return (x + 0.01 * torch.randn(x.shape, generator=gen)).clamp(0, 1)


def augment_catalog(cat: Catalog, idx: torch.Tensor, street: Street, out: int,
                    gen: torch.Generator, paste_p: float) -> torch.Tensor:
    """Catalog photos made to look like garment crops from street photos."""
    img = cat.images[idx].permute(0, 3, 1, 2).float() / 255
    mask = cat.masks[idx]
    n = len(idx)
    theta = random_affine(n, gen, zoom=(0.75, 1.5), shift=0.15, rotate_deg=10, perspective=0.12)
    img = warp(img, theta, out, 1.0)
    mask = warp(mask, theta, out, 0.0)
    paste = (torch.rand(n, generator=gen) < paste_p).float().view(n, 1, 1, 1)
    bg = street_backgrounds(street, n, out, gen)
    alpha = 1 - paste * (1 - mask)  # 1 keeps the (white-background) photo, 0 shows the street
    img = img * alpha + bg * (1 - alpha)
    return photometric(img, gen)


def augment_street(street: Street, idx: torch.Tensor, out: int, gen: torch.Generator):
    """Street garment crops with box jitter and the same photometric changes."""
    img = street.crops[idx].permute(0, 3, 1, 2).float() / 255
    theta = random_affine(len(idx), gen, zoom=(0.85, 1.25), shift=0.08, rotate_deg=6,
                          perspective=0.06)
    return photometric(warp(img, theta, out, 1.0), gen)


def clean_batch(images: torch.Tensor, out: int) -> torch.Tensor:
    """Un-augmented inputs (letterboxed uint8 NHWC) resized to the model size, 0..1 NCHW."""
    x = images.permute(0, 3, 1, 2).float() / 255
    if x.shape[-1] != out:
        x = F.interpolate(x, size=out, mode="bilinear", antialias=True, align_corners=False)
    return x
