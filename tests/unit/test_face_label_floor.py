"""The face training's label floor: a catalog face's targets lean at least so far the way its
product's gender says, and the teacher's answer stands wherever it already leans further."""

from __future__ import annotations

from training.face.faces import Face, with_label_floor

BOX = (10.0, 10.0, 40.0, 40.0)


def test_a_face_the_teacher_doubts_is_pulled_to_its_products_gender():
    doubted = Face("catalog/1.jpg", BOX, (1.0, 0.5, -0.5, 2.9))
    (pulled,) = with_label_floor([doubted], {"catalog/1.jpg": "female"}, floor=3.0)
    assert pulled.targets == (-3.0, -3.0, -3.0, -3.0)
    assert (pulled.path, pulled.box) == (doubted.path, doubted.box)


def test_an_answer_already_past_the_floor_is_kept():
    sure = Face("catalog/2.jpg", BOX, (5.5, 3.0, 2.0, 7.0))
    (kept,) = with_label_floor([sure], {"catalog/2.jpg": "male"}, floor=3.0)
    assert kept.targets == (5.5, 3.0, 3.0, 7.0)


def test_a_face_without_a_gendered_product_keeps_the_teachers_answers():
    street = Face("street/ccp_0200.jpg", BOX, (0.4, -0.2, 0.1, 0.3))
    assert with_label_floor([street], {"catalog/1.jpg": "female"}, floor=3.0) == [street]
