"""Fine-tune FaceRes so a face gives the same answer however the page serves the photo.

Why: the look's gender decides which catalog section it searches, and the same street photo
served as WebP, as JPEG at quality 70 or at half size moved FaceRes's log-odds for one face by
up to one unit of the look's threshold (docs/evaluation.md, Gender): 16 % of street test people
changed label across the 13 ways of ``training.evaluate.gender_consistency``. Refitting only the
last layer could not help (the variants move the features themselves), so this trains the whole
network.

How, without labels (self-distillation): the shipped FaceRes (the teacher, at its 224 px) looks
at each face of a clean photo in the four views the look uses (``companion.pipeline.gender``:
the face with its margin, its mirror image, the canonical view and its mirror). The student
(FaceRes's own weights, converted with onnx2torch, at ``--input-size``) sees the same face
served another way (PNG, JPEG or WebP at quality 60-95, scaled by 0.45-1, the face box moved a
little as BlazeFace would on the new pixels) and learns to give the teacher's clean answer for
that view. The answers stay the teacher's; only their steadiness is trained, and a smaller input
makes FaceRes cheaper (issue 32).

With ``--label-floor F`` the catalog's labels join in: a catalog face's targets lean at least
F log-odds the way its product's feed gender says (the teacher's answer where it leans further),
so the student learns where the teacher hesitates on small, compressed faces. Measured with
F = 3 at 224 px (docs/evaluation.md, Gender): steadier on held-out street photos and more often
right on street and catalog faces, less right on faces/ portraits; not installed.

Faces (never the test split, never faces/ or people/, which measure the result):
  * street trainval photos after the first ``GENDER_SETTINGS_PHOTOS`` (150, training.data.street;
    they choose the setting with ``gender_consistency --split trainval --limit 150``);
  * catalog ``index`` split photos that show a person with a face (any gender: no label is read).

    .venv-train/bin/python -m training.face --minutes 25 --out runs/face/model
    .venv-train/bin/python -m training.face --limit 40 --minutes 1 --out runs/face/smoke
    .venv-train/bin/python -m training.face --input-size 224 --label-floor 3 --steps 1018 \
        --minutes 60 --out runs/face/labels      # the labelled student of docs/evaluation.md

Then judge a copy of models/ with the student (``SHOP_THE_LOOK_MODELS``): ``trained_models
--skip-garments`` (faces/, people, catalog) and ``gender_consistency``; install by copying
``--out`` over ``models/faceres`` only once judged. The companion never imports torch.
"""
