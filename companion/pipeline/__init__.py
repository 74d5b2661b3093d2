"""A look: decoding, the order of the steps (look), and the geometry between the networks of
companion.inference (crops of a person, crowd second pass, garments to people, keypoint regions),
then the catalog search (search, consensus) and the look's JSON (look_output)."""
