"""bench_accuracy compares rates, not counts or times, wherever an evaluation nests them."""

from __future__ import annotations

from benchmarks.bench_accuracy import rates


def test_rates_are_found_at_any_depth_and_counts_and_times_are_left_out():
    report = {
        "street": {"images": 197, "median_ms_per_image": 402.2, "recall@0.5_all": 0.666,
                   "per_category": {"dress": {"labelled": 54, "recall@0.5": 0.204}}},
        "gender_on_faces": {"faces": 900, "accuracy (unknown counts wrong)": 0.777},
        "misses at rank 1": {"worn": {"not found": 12}},
        "garment_finder": "detector",
    }
    assert rates(report) == {
        "street/recall@0.5_all": 0.666,
        "street/per_category/dress/recall@0.5": 0.204,
        "gender_on_faces/accuracy (unknown counts wrong)": 0.777,
    }
