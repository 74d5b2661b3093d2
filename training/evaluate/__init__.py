"""Evaluation and tuning runs, side by side: what the companion gets from its models.

    detection.py       the look pipeline's garment boxes on street photos, and face gender
    trained_models.py  the trained garment detector and body-gender model against the
                       companion without them (garments on street test; gender on people/ test
                       and catalog query photos)
    retrieval.py       the embedders: product -> product and street -> product
    exact_match.py     the score above which a match could be called "exact"
    consensus.py       tunes the embedder's consensus re-ranking (its manifest's extra.consensus)
    regions.py         fits the keypoint-region margins on street trainval
    scoring.py         how a found garment is counted, for all of them

Evaluations score on what training never sees (street test, catalog query rows, people/ test);
the tuning runs fit on street trainval and the embedder's own tuning queries.
"""
