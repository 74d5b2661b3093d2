"""Train the garment detector on the street photos and export it as ONNX with a manifest.

Why: keypoint-based garment boxes miss what keypoints do not show (a jacket's hem, a skirt's flare,
shoes under trousers, bags). This trains a small YOLO detector for the companion's categories
(topwear, bottomwear, footwear, dress, bag) on ``street`` trainval only, so a retailer can rerun it
on their own labelled photos.

Usage (in the detector environment, see below)::

    .venv-detector/bin/python -m training.detector --hours 0.7      # the shipped model
    .venv-detector/bin/python -m training.detector --limit 16 --epochs 1 --out runs/smoke
    .venv-detector/bin/python -m training.detector \\
        --export-only runs/detector/train/weights/best.pt

Steps: (1) build a YOLO dataset under ``--work`` (symlinked photos, generated labels in the five
categories; a fixed 10 % of trainval becomes the validation set, test.txt is never read);
(2) train from the architecture yaml (no pretrained weights are downloaded); (3) export ONNX
(opset 17, fixed square input) to ``--out`` with ``manifest.json``.

Environment: ultralytics (AGPL-3.0) is used here only; the companion never imports it::

    python3 -m venv .venv-detector
    .venv-detector/bin/pip install torch==2.14.1 torchvision==0.29.1
    .venv-detector/bin/pip install ultralytics onnx onnxslim torch==2.14.1 torchvision==0.29.1

The package: dataset.py (step 1), train.py (step 2), export.py (step 3 and the score threshold),
params.py, __main__.py.
"""
