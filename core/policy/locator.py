"""Where things are in the camera image, read from the default model's own vision tower.

The tower's 16 x 16 patch grid knows where each block is to about a pixel (measured on held-out scenes,
see `recipes.locator`); the 16 pooled tokens the language model sees keep only which 4 x 4
cell. The locator is a small head on that patch grid: per object, a score for every patch (softmax
over the grid) and a sub-patch offset; the object's pixel is the score-weighted patch position, and
whether it is in view is its best patch's score. Trained on sim scenes with ground truth, shipped as
`locator.safetensors` next to the vision weights; it only fits the vision build it was trained on
(`locator.json` holds that build's fingerprint).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

OBJECTS = ("red block", "green block", "blue block", "yellow block", "bowl", "plate", "gripper")
HEAD_FILE, META_FILE = "locator.safetensors", "locator.json"


def locator_files(robot: str = "sim") -> tuple[str, str]:
    """The head and its facts for a robot's scenes: the built-in sim's are `locator.*`, another simulated
    robot's (its own arm, object sizes and camera) `locator-<robot>.*` (`python -m recipes.locator --robot`)."""
    if robot == "sim":
        return HEAD_FILE, META_FILE
    return f"locator-{robot}.safetensors", f"locator-{robot}.json"
SEEN_P = 0.5  # an object counts as in view when its presence probability is above this


class LocatorError(RuntimeError):
    """The locator is missing or does not fit the loaded vision build."""


class LocatorHead(torch.nn.Module):
    """Per object, a score for every patch and a sub-patch offset, read from the patch features.

    `context` > 0 adds a small convolution over the patch grid (`context` channels, 7 x 7 patches seen), so a
    patch is scored with its neighbours: a yellow block beside a yellow arm looks like the arm patch by
    patch (the SO-101's), not with its surroundings. 0: each patch on its own (the built-in scene's head)."""

    def __init__(self, width: int, grid: int, patch: int, n: int = len(OBJECTS), context: int = 0) -> None:
        super().__init__()
        self.n, self.patch, self.grid, self.context = n, patch, grid, context
        if context:
            act = torch.nn.GELU
            self.ctx = torch.nn.Sequential(torch.nn.Conv2d(width, context, 1), act(),
                                           *[m for _ in range(3) for m in (torch.nn.Conv2d(context, context, 3, padding=1), act())])
        self.mlp = torch.nn.Sequential(torch.nn.LayerNorm(width + context), torch.nn.Linear(width + context, width),
                                       torch.nn.GELU(), torch.nn.Linear(width, n * 3))
        g = torch.arange(grid, dtype=torch.float32) * patch + patch / 2
        self.register_buffer("centres", torch.stack(torch.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2),
                             persistent=False)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P, width) patch features -> (B, n, 2) pixels (u, v) and (B, n) presence logits."""
        b, p, w = feats.shape
        if self.context:
            grid = feats.transpose(1, 2).reshape(b, w, self.grid, self.grid)  # patches are row-major
            feats = torch.cat([feats, self.ctx(grid).flatten(2).transpose(1, 2)], -1)
        out = self.mlp(feats).view(b, p, self.n, 3)
        logits = out[..., 0]
        weights = logits.softmax(1)
        pos = self.centres[None, :, None, :] + self.patch * out[..., 1:]
        return (weights[..., None] * pos).sum(1), logits.amax(1)


@dataclass(frozen=True)
class Sighting:
    name: str
    u: float
    v: float
    p: float  # probability that it is in view

    @property
    def seen(self) -> bool:
        return self.p > SEEN_P


def to_pixels(images: list[np.ndarray], size: int) -> torch.Tensor:
    """Frames -> the tower's input (resized square, scaled to [-1, 1] as the Gemma-3 processor does)."""
    from core.model.images import resize_square

    arr = np.stack([resize_square(np.asarray(im), size) for im in images]).astype(np.float32)
    return torch.from_numpy(arr).permute(0, 3, 1, 2) / 127.5 - 1.0


class Locator:
    """The vision tower + the head; `locate(frames)` gives each object's pixel in the frames' own size."""

    def __init__(self, tower: Any, head: LocatorHead, image_size: int, fingerprint: str = "") -> None:
        self.tower, self.head, self.image_size, self.fingerprint = tower.eval(), head.eval(), image_size, fingerprint

    @classmethod
    def load(cls, assets: Path | None = None, robot: str = "sim") -> Locator:
        from safetensors.torch import load_file

        from core.model.cache import assets_dir

        assets = Path(assets or assets_dir())
        head_file, meta_file = locator_files(robot)
        if not (assets / head_file).is_file():
            flag = "" if robot == "sim" else f" --robot {robot}"
            raise LocatorError(f"no object locator for {robot} in {assets}; build it with "
                               f"`python -m recipes.locator{flag}`")
        meta = json.loads((assets / meta_file).read_text())
        fp = vision_fingerprint(assets)
        if meta.get("vision_fingerprint") != fp:
            raise LocatorError(f"the object locator was trained on vision build {meta.get('vision_fingerprint')}, "
                               f"not the shipped {fp}; rebuild it with `python -m recipes.locator`")
        spec = vision_spec(assets)
        head = head_for(spec, int(meta.get("context", 0)))
        head.load_state_dict(load_file(str(assets / head_file)))
        return cls(load_tower(assets, spec), head, spec.image_size, fp)

    @torch.no_grad()
    def features(self, images: list[np.ndarray]) -> torch.Tensor:
        return self.tower(pixel_values=to_pixels(images, self.image_size)).last_hidden_state

    @torch.no_grad()
    def locate(self, images: list[np.ndarray], batch: int = 32) -> list[dict[str, Sighting]]:
        out: list[dict[str, Sighting]] = []
        for b in range(0, len(images), batch):
            chunk = images[b:b + batch]
            pix, logit = self.head(self.features(chunk))
            for im, px, lg in zip(chunk, pix.numpy(), torch.sigmoid(logit).numpy(), strict=True):
                scale = np.asarray(im).shape[1] / self.image_size  # back to the frame's own pixels
                out.append({n: Sighting(n, float(px[i, 0] * scale), float(px[i, 1] * scale), float(lg[i]))
                            for i, n in enumerate(OBJECTS)})
        return out


def vision_spec(assets: Path) -> Any:
    """The `VisionSpec` of the vision build in `assets` (its config.json)."""
    from core.model.assemble import VisionSpec

    return VisionSpec(**json.loads((Path(assets) / "config.json").read_text())["vision_spec"])


def load_tower(assets: Path, spec: Any) -> Any:
    """The SigLIP tower of the vision build in `assets`, on its own (no language model)."""
    from safetensors.torch import load_file

    from core.model.assemble import new_tower

    tower = new_tower(spec)
    prefix = "model.vision_tower."
    tower.load_state_dict({k[len(prefix):]: v.float() for k, v in load_file(str(Path(assets) / "vision.safetensors")).items()
                           if k.startswith(prefix)})
    return tower


def head_for(spec: Any, context: int = 0) -> LocatorHead:
    """A fresh head for the vision build `spec` (`context`: `LocatorHead`'s neighbourhood channels)."""
    return LocatorHead(spec.hidden_size, spec.image_size // spec.patch_size, spec.patch_size, context=context)


def vision_fingerprint(assets: Path) -> str:
    import hashlib

    return hashlib.sha256((Path(assets) / "vision.safetensors").read_bytes()).hexdigest()[:16]


__all__ = ["OBJECTS", "Locator", "LocatorError", "LocatorHead", "Sighting", "head_for", "load_tower", "vision_fingerprint"]
