"""Train the body-based gender classifier and export it as ONNX with a manifest.

Why: the face model answers "unknown" whenever no face shows. This fine-tunes the COCO-trained
NanoDet backbone that already ships (``models/nanodet-embedder``, converted to torch with
onnx2torch) plus one logistic unit on whole-body crops, so the companion gets a fallback.

Training people (labels are never guessed):
  * ``people/`` train split: 960 pedestrian crops with gender labels (PETA).
  * ``catalog/`` model shots: products of the ``index`` split (never ``query``) whose photo shows a
    person, found with the companion's own MoveNet wrapper; the product's gender is the
    label, unisex products are skipped. Detections are cached under ``--work``.
A fixed 10 % of those people is held out for validation (threshold choice). ``people/`` test and
the catalog ``query`` split are left for ``python -m training.evaluate.trained_models``.

Usage (torch + onnx2torch + onnx; the detector environment has them)::

    .venv-detector/bin/python -m training.gender --minutes 15        # the shipped model
    .venv-detector/bin/python -m training.gender --limit 40 --epochs 1 --out runs/smoke

Set it up with ``pip install torch==2.14.1 torchvision==0.29.1 onnx2torch onnx onnxruntime``
(onnx2torch imports torchvision). The companion never imports torch.

The package: samples.py (the people and their crops), model.py (the network and its export),
train.py (the loop and the "unknown" threshold), params.py, __main__.py.
"""
