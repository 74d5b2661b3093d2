"""`python -m training.face`: fine-tune FaceRes for steadiness and export it (see --help)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import training.face
from training.data import data_root
from training.params import cli, parse, require_modules
from training.paths import repo_path


@dataclass(kw_only=True)
class FaceParams:
    """How to fine-tune FaceRes; `python -m training.face --help`."""

    data: Path = field(default=data_root(), metadata=cli(
        "folder holding street/ and catalog/ (default %(default)s)"))
    work: Path = field(default=Path("runs/face"), metadata=cli(
        "cache of the faces and the teacher's answers (default %(default)s)"))
    out: Path = field(default=Path("runs/face/model"), metadata=cli(
        "where the student and its manifest go (default %(default)s)"))
    input_size: int = field(default=176, metadata=cli(
        "the student's input side in pixels (the shipped FaceRes: 224)"))
    minutes: float = field(default=25.0, metadata=cli("wall-clock budget for training"))
    steps: int | None = field(default=None, metadata=cli(
        "stop after this many steps even with budget left (smoke runs: the same every time)"))
    batch: int = field(default=16, metadata=cli())
    lr: float = field(default=3e-5, metadata=cli())
    limit: int | None = field(default=None, metadata=cli("only the first N photos (smoke runs)"))
    seed: int = field(default=0, metadata=cli())
    label_floor: float = field(default=0.0, metadata=cli(
        "each catalog face's target leans at least this many log-odds the way its product's "
        "feed gender says (0: no label is read, the teacher's answers only)"))

    def __post_init__(self) -> None:
        self.data, self.work, self.out = (repo_path(p) for p in (self.data, self.work, self.out))


def main(argv: list[str] | None = None) -> None:
    doc = training.face.__doc__
    params = parse(FaceParams, argv, description=doc.split("\n\n")[0],
                   epilog=doc.split("\n\n", 1)[1],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    require_modules("onnx2torch", "torch")
    from companion.inference.store import ModelStore
    from training.data.street import GENDER_SETTINGS_PHOTOS
    from training.face.faces import cached_faces, catalog_genders, with_label_floor
    from training.face.train import export, train

    faces = cached_faces(params.data, ModelStore(), params.work, params.limit)
    if params.label_floor > 0:
        genders = catalog_genders(params.data)
        faces = with_label_floor(faces, genders, params.label_floor)
        labelled = sum(face.path in genders for face in faces)
        print(f"{len(faces)} faces, {labelled} with their product's gender as a floor")
    net, teacher, history = train(faces, params.input_size, params.minutes, params.batch,
                                  params.lr, params.seed, params.steps)
    target = export(net, teacher, params.input_size, params.out, {
        "by": "python -m training.face",
        "faces": len(faces),
        "sources": f"street trainval after its first {GENDER_SETTINGS_PHOTOS} photos; "
                   "catalog index split",
        "input_size": params.input_size, "minutes": params.minutes, "batch": params.batch,
        "lr": params.lr, "seed": params.seed, "steps": history[-1]["step"],
        "label_floor": params.label_floor,
        "held_out_history": history[-1],
    })
    (params.out / "history.json").write_text(json.dumps(history, indent=1))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
