"""Train the garment embedder (models/garment-embedder) on the catalog, on CPU, in about an hour.

Why this recipe
    No pretrained fashion embedding can be downloaded here, so we start from the best features we
    ship: NanoDet's COCO backbone (a CSPDarknet-tiny, the same weights as the stop-gap
    models/nanodet-embedder). Its convolutions are rebuilt as a clean torch module and loaded
    from the ONNX file, so fine-tuning starts from detection features, not from random weights.

    On top sit attention pooling (the garment, not the background, decides the embedding) and a
    linear projection to a 256-d L2-normalised embedding. It is trained with normalised-softmax
    proxy losses on several label sets at once:
      fine    articleType + baseColour (what a shopper calls "the same kind of thing")
      type    articleType, colour baseColour, gender (male/female; unisex has no gender proxy)
      kind    articleType + gender, the evaluation's "same kind of product" in one label
      street  a coarse class shared with street photos (shirt, jacket, pants, ... shoe), learnt
              from catalog images *and* from garment boxes of the data's street trainval photos,
              so that crops cut out of street photos land near the right kind of product.

    Catalog images are made to look like street crops: garments are cut from their white studio
    background (flood fill from the border) and pasted onto street-photo backgrounds (trainval
    images only), zoomed, shifted, tilted, sheared, flipped, blurred and lit brighter or darker.
    Hues are never shifted, so the colour labels stay true.

    CPU budget: the stem and stage 1 stay frozen, so their stride-8 output is computed once
    for `--views` views per image (1 clean + 9 augmented per product, 10 jittered per street
    box) and cached in RAM (~6 GB at 160 px); stages 2-4, the attention and the projection train.

    What is exported is more than the learnt embedding. Every part below has unit length and a
    weight, so a cosine between two exported vectors is a weighted sum of part similarities:
      * the learnt 256-d embedding (shape, pattern, texture);
      * a soft colour histogram of the attended, non-white pixels;
      * sqrt of the articleType, gender, kind and street-class distributions that the proxies
        predict (two garments count as similar when they are probably the same kind of thing);
      * sqrt of the baseColour distribution from a small MLP on two colour histograms, trained
        after the embedder: it learns the catalog's colour names (Navy Blue vs Black).
    The weights are picked by letting the monitoring slice (index rows held out of training,
    never the evaluation's queries) search the training products.

Data rules (checked in code)
    * Only `index` rows of catalog/split.tsv are ever read for training: the `query` rows are the
      evaluation's queries (training.evaluate.retrieval).
    * Street images come from street/trainval.txt only; street/test.txt is for evaluation.

The package, by concern: params.py (the settings), data.py (catalog and street, decoded once),
augment.py, views.py (cached frozen features), model.py, loss.py, train.py (the loop and the
colour head), tuning.py (part weights), export.py (ONNX, manifest, re-export), centre.py (the
shipped model centred), shipped.py (a shipped embedder run over the training's split).

Time on 2 idle CPU cores with the defaults: see the model card (models/garment-embedder).
`--steps 3 --limit 48 --views 1` is a smoke run (tests/training_smoke/test_embedder_training.py).
Needs the training environment (never the runtime; torchvision is not needed):
    python3 -m venv .venv-train
    .venv-train/bin/pip install torch==2.13.0 onnx onnxruntime numpy pillow scipy
    .venv-train/bin/python -m training.embedder          # writes models/garment-embedder/
"""
