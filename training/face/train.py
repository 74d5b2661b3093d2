"""The student (FaceRes converted with onnx2torch), its training loop and its ONNX export."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from companion.inference.faceres import OUTPUT, stretched
from companion.pipeline.gender import CANONICAL_FACE_WIDTH
from training.face.faces import Face, held_out, photo_pixels, served, view_of
from training.manifest import sha256_of
from training.paths import MODELS

SHIPPED = MODELS / "faceres"
LOGIT_LIMIT = 8.0  # the teacher's log-odds are clipped here: past it a face is as clear as can be


class Teacher:
    """What the student needs of the shipped FaceRes: its file, manifest and input format."""

    def __init__(self, folder: Path = SHIPPED) -> None:
        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.extra = self.manifest.get("extra", {})
        self.file = folder / self.manifest["file"]
        self.input_name = self.manifest["inputs"][0]["name"]

    def tensor(self, views: list[np.ndarray], side: int):
        """The student's input for ``views``, prepared as the companion prepares FaceRes's."""
        import torch

        batch = stretched(views, (side, side), self.extra.get("channel_order", "RGB"))
        values = batch.astype(np.float32)
        values -= np.asarray(self.extra.get("channel_mean", (0.0, 0.0, 0.0)), np.float32)
        return torch.from_numpy(values)


def student(teacher: Teacher):
    """FaceRes's own graph and weights as a torch module (spatial size left open)."""
    import onnx
    from onnx2torch import convert

    model = onnx.load(str(teacher.file))
    for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim[1:3],
                         ("height", "width"), strict=True):
        dim.ClearField("dim_value")
        dim.dim_param = name
    return convert(model)


def male_logit(net, inputs):
    """The student's log-odds of "male" (its graph ends in a sigmoid; the logit is read back)."""
    import torch

    probability = net(inputs)[0][:, 0].clamp(1e-6, 1 - 1e-6)
    return torch.log(probability / (1 - probability))


def sample(face: Face, pixels: np.ndarray, canonical_width: float, rng: random.Random,
           clean_share: float = 0.2) -> tuple[np.ndarray, float]:
    """One training view of ``face``: served another way (or clean), one of the four views,
    and the teacher's clean answer for that view."""
    if rng.random() < clean_share:
        image, box = pixels, face.box
    else:
        image, box = served(pixels, face.box, rng)
    which = rng.randrange(4)
    view = view_of(image, box, which, canonical_width)
    return view, float(np.clip(face.targets[which], -LOGIT_LIMIT, LOGIT_LIMIT))


def steadiness(net, teacher: Teacher, faces: list[Face], photos: dict[str, np.ndarray],
               side: int, canonical_width: float, variants: int = 4) -> dict:
    """On held-out faces: how far the first view's log-odds stray from the teacher's clean
    answer across served variants (mean absolute error), and how often their sign agrees."""
    import torch

    rng = random.Random(0)
    errors, agree = [], []
    net.eval()
    with torch.no_grad():
        for face in faces:
            pixels = photos[face.path]
            views = [view_of(*served(pixels, face.box, rng), 0, canonical_width)
                     for _ in range(variants)]
            logits = male_logit(net, teacher.tensor(views, side)).numpy()
            target = float(np.clip(face.targets[0], -LOGIT_LIMIT, LOGIT_LIMIT))
            errors += list(np.abs(logits - target))
            agree += list(np.sign(logits) == np.sign(target))
    return {"mean abs error": round(float(np.mean(errors)), 3),
            "sign agrees": round(float(np.mean(agree)), 3)}


def train(faces: list[Face], side: int, minutes: float, batch: int, learning_rate: float,
          seed: int = 0, steps: int | None = None):
    """Fine-tune the student for ``minutes`` (or ``steps``, when fewer); returns it with its
    held-out history."""
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    teacher = Teacher()
    canonical_width = float(teacher.extra.get("canonical_face_width", CANONICAL_FACE_WIDTH))
    photos = {path: photo_pixels(Path(path).read_bytes()) for path in {f.path for f in faces}}
    watch = [f for f in faces if held_out(f.path)][:120]
    learn = [f for f in faces if not held_out(f.path)]
    net = student(teacher)
    history = [{"step": 0, **steadiness(net, teacher, watch, photos, side, canonical_width)}]
    print(f"{len(learn)} faces to learn from, {len(watch)} watched; before: {history[0]}")
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate)
    loss_of = torch.nn.SmoothL1Loss()
    deadline, step = time.monotonic() + minutes * 60, 0
    while time.monotonic() < deadline and (steps is None or step < steps):
        net.train()
        views, targets = [], []
        for _ in range(batch):
            face = rng.choice(learn)
            view, target = sample(face, photos[face.path], canonical_width, rng)
            views.append(view)
            targets.append(target)
        loss = loss_of(male_logit(net, teacher.tensor(views, side)),
                       torch.tensor(targets, dtype=torch.float32))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        if step % 150 == 0:
            history.append({"step": step, "loss": round(float(loss), 4),
                            **steadiness(net, teacher, watch, photos, side, canonical_width)})
            print(history[-1], flush=True)
    history.append({"step": step,
                    **steadiness(net, teacher, watch, photos, side, canonical_width)})
    print(f"after {step} steps: {history[-1]}")
    return net, teacher, history


def export(net, teacher: Teacher, side: int, out: Path, provenance: dict) -> Path:
    """The student as ``out``/faceres.onnx (batch, height and width open) with a manifest: the
    shipped one with the new file, input size and provenance."""
    import torch

    class GenderOnly(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)[0]

    out.mkdir(parents=True, exist_ok=True)
    target = out / teacher.manifest["file"]
    dummy = teacher.tensor([np.zeros((side, side, 3), np.uint8)] * 2, side)
    torch.onnx.export(
        GenderOnly(net.eval()), (dummy,), str(target), input_names=[teacher.input_name],
        output_names=[OUTPUT], opset_version=17, dynamo=False,
        dynamic_axes={teacher.input_name: {0: "batch", 1: "height", 2: "width"},
                      OUTPUT: {0: "batch"}},
    )
    manifest = json.loads(json.dumps(teacher.manifest))
    manifest["sha256"] = sha256_of(target)
    manifest["bytes"] = target.stat().st_size
    manifest["inputs"][0]["shape"] = ["batch", "height", "width", 3]
    manifest["inputs"][0]["size_note"] = f"face crop with some margin, stretched to {side}x{side}"
    manifest["outputs"] = [o for o in manifest["outputs"] if o["name"] == OUTPUT]
    manifest["extra"]["input_size"] = side
    manifest["provenance"] = {**manifest["provenance"], "fine_tuned": provenance}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return target
