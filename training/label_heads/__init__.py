"""Give the garment embedder a second opinion on *what* a garment is: label heads on the
CenterNet (MobileNetV3, COCO) backbone, its top blocks fine-tuned, grafted onto
models/garment-embedder.

Why
    The embedder's own articleType guess is capped by its NanoDet backbone (it names the type of
    about 80% of held-out products). A linear probe on the frozen MobileNetV3 backbone of
    models/centernet, a model we already ship, names 81.5% of the monitoring slice's types, and
    its mistakes differ from NanoDet's. Fine-tuning the whole backbone does not fit a 2-core CPU
    budget, but its top blocks, run on cached features of the frozen ones, do: blocks 12-14 on
    block 11's output named types 0.80 instead of 0.79; blocks 8-14 on block 7's output 0.83
    and colours 0.62 instead of 0.59 (monitoring slice; the model card has the numbers).

What it does
    1. Cuts the backbone out of models/centernet (input -> the expanded layers of blocks 11 and
       14, stride 16 and 32), with a dynamic batch and image size.
    2. Runs the frozen layers (up to block 7) once on `--views` views of every training product
       (1 clean + street-like ones, the embedder's own augmentation) and of every street
       trainval box, keeping block 7's output. (`--tune-from 12` freezes up to block 11 and
       keeps its pooled expansion too: the previous release's recipe.)
    3. Fine-tunes blocks 8-14 (onnx2torch) together with one linear softmax head per label set
       (articleType, gender, kind = articleType + gender, street class, baseColour) on the
       pooled features of blocks 11 and 14, then writes the trained weights back into the ONNX.
    4. Tunes how much each head's sqrt-probabilities count next to the embedder's own parts,
       with the embedder's tuning queries (monitoring slice, held-out street boxes; never the
       evaluation's queries).
    5. Writes one ONNX: the embedder's graph (its output kept as `base_embedding`) and the
       backbone side by side on the same input, concatenated and L2-normalised, with a manifest.
       With `--size` above the embedder's own (e.g. 192), the heads see the image at that size
       and the embedder an antialiased copy at its own 160 px (tried, not shipped: the model
       card's "Tried and dropped").

Running it on an already grafted model grafts onto its `base_embedding` again (no stacking);
a centring goes with the old heads (run python -m training.embedder.centre again).

Worn crops and continuing (issue 28)
    `--worn-crops` adds, for each training product photographed on a person, its garment cut
    out as an index build cuts it (training/embedder/worn.py), labelled as its product: the
    crops a look asks with and the object-level index keeps. `--init-from GRAFT` starts the
    blocks and heads from a trained graft instead of COCO's weights and new heads, so a few
    epochs at lower rates add what the new views teach (the manifest records what it
    continued from).

The package, by concern: params.py, backbone.py (the cut and the cached views), heads.py (the
heads and their training), parts.py and tuning.py (the heads' weights), graft.py (the one ONNX
graph), export.py (its manifest), ensemble.py (averaging the heads of several grafts).
Needs the training environment (torch, onnx, onnx2torch; never the runtime):
    .venv-train/bin/python -m training.label_heads     # rewrites models/garment-embedder/
`--limit 48 --views 1 --epochs 2` is a smoke run (tests/training_smoke/test_embedder_training.py).
"""
