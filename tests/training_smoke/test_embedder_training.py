"""Training the garment embedder works on a CPU: a few real steps on a tiny catalog subset.

Needs the training packages (`pip install torch==2.13.0 onnx scipy`); skipped without them.
"""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from companion.inference.embedder import Embedder
from companion.inference.manifest import file_sha256
from companion.inference.store import ModelStore
from tests.support.data import (
    CATALOG,
    DATA,
    REPO,
    requires_data,
    run_module,
    skip_unless_installed,
    smoke_train,
)
from training.data.catalog import read_feed

skip_unless_installed({
    "torch": "training needs torch (pip install torch==2.13.0)",
    "onnx": "training reads the NanoDet weights with onnx",
    "scipy": "training cuts garments from studio backgrounds with scipy",
    "onnx2torch": "the label heads fine-tune blocks via onnx2torch (the train extra)",
})


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory):
    """models/garment-embedder written by three training steps on 48 products."""
    return smoke_train("training.embedder", tmp_path_factory.mktemp("trained"),
                       "garment-embedder", "--limit", "48", "--steps", "3", "--batch", "32",
                       "--views", "1", "--log-every", "1", "--eval-every", "3", timeout=600)


@pytest.mark.slow
@requires_data
def test_a_few_steps_train_and_report_progress(smoke_model):
    _, log = smoke_model
    assert "rebuilt NanoDet backbone matches" in log  # started from the pretrained weights
    assert "step 3/3 loss" in log
    assert "ETA" in log


@pytest.mark.slow
@requires_data
def test_the_export_is_a_model_the_runtime_loads(smoke_model):
    models, _ = smoke_model
    manifest = json.loads((models / "garment-embedder" / "manifest.json").read_text())
    assert manifest["task"] == "image-embedding"
    assert manifest["extra"] == {"input_size": 160, "resize": "letterbox",
                                 "fill": [255, 255, 255]}
    assert file_sha256(models / "garment-embedder" / manifest["file"]) == manifest["sha256"]

    crops = [np.full((90, 60, 3), 200, np.uint8), np.zeros((40, 120, 3), np.uint8)]
    vectors = Embedder(ModelStore(models), "garment-embedder").predict(crops)
    dims = manifest["outputs"][0]["shape"][1]
    assert dims >= 256  # the learnt 256 dimensions, then a colour histogram when it helps
    assert vectors.shape == (2, dims)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)


@requires_data
def test_training_never_sees_an_evaluation_query():
    from training.embedder.data import read_training_rows

    queries = read_feed(CATALOG).ids_of("query")
    train, monitor = read_training_rows(DATA, val_fraction=0.04, limit=None)
    seen = {r["id"] for r in train + monitor}
    assert queries and not seen & queries
    assert len(seen) == 8340  # every index row, and nothing else


@requires_data
def test_held_out_street_photos_are_neither_backgrounds_nor_training_crops():
    from training.embedder.data import held_out, load_street

    names = (DATA / "street" / "trainval.txt").read_text().split()[:50]  # what limit=400 reads
    kept_out = [n for n in names if held_out(n, "embedder-street-val", 0.3)]
    train, monitor = load_street(DATA, 32, limit=400, val_fraction=0.3)
    assert 0 < len(kept_out) < len(names)
    assert monitor.photos == kept_out  # whole photos go one way or the other
    assert train.photos == [n for n in names if n not in kept_out]
    assert len(train.backgrounds) == len(train.photos) and len(monitor.backgrounds) == 0
    assert len(monitor.crops) == len(monitor.crop_labels) > 0
    assert len(train.crops) == len(train.crop_labels) > 0


def test_the_colour_histogram_is_the_joint_soft_assignment_to_the_rgb_grid():
    """The per-channel form that ships must equal a softmax over all levels^3 bin centres."""
    import torch
    import torch.nn.functional as F

    from training.embedder.model import ColourDescriptor

    def joint(d: ColourDescriptor, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        axis = (torch.arange(d.levels, dtype=torch.float32) + 0.5) / d.levels
        centres = torch.cartesian_prod(axis, axis, axis).view(1, -1, 3, 1, 1)  # r, g, b order
        px = F.adaptive_avg_pool2d(x, d.grid)
        att = F.interpolate(logits, size=(d.grid, d.grid), mode="bilinear", align_corners=False)
        weight = torch.softmax(att.flatten(1), dim=1).view_as(att)
        if d.skip_white:
            weight = weight * torch.sigmoid((0.93 - px.min(dim=1, keepdim=True).values) * 60)
        assign = torch.softmax(-((px.unsqueeze(1) - centres) ** 2).sum(2) / (2 * d.sigma2), 1)
        return F.normalize(((assign * weight).sum(dim=(2, 3)) + 1e-6).sqrt(), dim=1)

    x = torch.rand(3, 3, 96, 96)
    x[0, :, :40] = 1.0  # studio white, which the garment histogram leaves out
    x[1] = torch.tensor([0.9, 0.1, 0.1]).view(3, 1, 1)  # one red
    logits = torch.randn(3, 1, 3, 3)
    for skip_white in (True, False):
        d = ColourDescriptor(skip_white=skip_white)
        assert torch.allclose(d(x, logits), joint(d, x, logits), atol=1e-6)
    red = ColourDescriptor()(x, logits)[1]
    assert red.argmax() == 5 * 36 + 0 * 6 + 0  # the bin of (high red, low green, low blue)


@pytest.mark.slow
@requires_data
def test_a_reexport_computes_what_the_export_did(smoke_model, tmp_path):
    models, _ = smoke_model
    source = models / "garment-embedder"
    out = tmp_path / "models" / "garment-embedder"
    log = run_module("training.embedder", "--reexport", str(source / "garment-embedder.onnx"),
                     "--out", str(out), timeout=300)
    assert "re-export computes what garment-embedder.onnx did" in log

    old = json.loads((source / "manifest.json").read_text())
    new = json.loads((out / "manifest.json").read_text())
    assert new["provenance"]["re_exported_from"]["sha256"] == old["sha256"]
    assert new["provenance"]["parts"] == old["provenance"]["parts"]
    crops = [np.full((90, 60, 3), 200, np.uint8), np.random.default_rng(0).integers(
        0, 256, (120, 80, 3), dtype=np.uint8)]
    before = Embedder(ModelStore(models), "garment-embedder").predict(crops)
    after = Embedder(ModelStore(out.parent), "garment-embedder").predict(crops)
    assert np.abs(before - after).max() < 1e-4


def graft_heads(base, out, work, *options: str) -> str:
    """A smoke run of training.label_heads (48 products, 1 view, 2 epochs) onto the embedder
    ONNX `base`; its log."""
    return run_module("training.label_heads", "--data", str(DATA), "--limit", "48", "--views",
                      "1", "--epochs", "2", "--base", str(base), "--out", str(out),
                      "--work", str(work), *options, timeout=600)


@pytest.fixture(scope="module")
def grafted_model(smoke_model, tmp_path_factory):
    """The smoke-trained embedder with CenterNet-backbone label heads grafted on."""
    models, _ = smoke_model
    out = tmp_path_factory.mktemp("grafted") / "models" / "garment-embedder"
    log = graft_heads(models / "garment-embedder" / "garment-embedder.onnx", out,
                      out.parents[1] / "work")
    return out, log


@pytest.mark.slow
@requires_data
def test_grafted_label_heads_extend_the_embedding_and_keep_the_embedders_own(smoke_model,
                                                                             grafted_model):
    models, _ = smoke_model
    grafted, log = grafted_model
    assert "epoch 2/2" in log and "ETA" in log
    assert "grafted ONNX matches its parts" in log
    assert "trained blocks in ONNX match torch" in log
    base = json.loads((models / "garment-embedder" / "manifest.json").read_text())
    manifest = json.loads((grafted / "manifest.json").read_text())
    heads = manifest["provenance"]["label_heads"]
    assert heads["base_sha256"] == base["sha256"]
    assert manifest["provenance"]["parts"] == base["provenance"]["parts"]
    assert file_sha256(grafted / manifest["file"]) == manifest["sha256"]

    crops = [np.full((90, 60, 3), 200, np.uint8), np.random.default_rng(1).integers(
        0, 256, (120, 80, 3), dtype=np.uint8)]
    own = Embedder(ModelStore(models), "garment-embedder").predict(crops)
    both = Embedder(ModelStore(grafted.parent), "garment-embedder").predict(crops)
    added = sum(len(heads["classes"][k]) for k, w in heads["weights"].items() if w > 0)
    assert added > 0 and both.shape == (2, own.shape[1] + added)
    assert np.allclose(np.linalg.norm(both, axis=1), 1, atol=1e-4)
    # the embedder's own vector comes first, unchanged up to the joint normalisation
    first = both[:, : own.shape[1]]
    assert np.allclose(first / np.linalg.norm(first, axis=1, keepdims=True), own, atol=1e-4)


@pytest.mark.slow
@requires_data
def test_heads_at_a_larger_size_take_larger_images_and_the_embedder_inside_keeps_its_own(
        smoke_model, tmp_path):
    models, _ = smoke_model
    larger = tmp_path / "models" / "garment-embedder"
    log = graft_heads(models / "garment-embedder" / "garment-embedder.onnx", larger,
                      tmp_path / "work", "--size", "192")
    assert "at 192 px" in log and "grafted ONNX matches its parts" in log
    manifest = json.loads((larger / "manifest.json").read_text())
    assert manifest["inputs"][0]["shape"] == ["batch", 3, 192, 192]
    assert manifest["extra"]["input_size"] == 192  # the runtime letterboxes to 192
    assert manifest["provenance"]["label_heads"]["base_input_size"] == 160

    crops = [np.full((90, 60, 3), 200, np.uint8), np.random.default_rng(2).integers(
        0, 256, (120, 80, 3), dtype=np.uint8)]
    own = Embedder(ModelStore(models), "garment-embedder").predict(crops)
    both = Embedder(ModelStore(larger.parent), "garment-embedder").predict(crops)
    first = both[:, : own.shape[1]]
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    # a 192-px letterbox resized to 160 inside the graph is nearly the 160-px letterbox
    assert (first * own).sum(axis=1).min() > 0.99

    again = tmp_path / "again" / "garment-embedder"  # grafting again at the embedder's size
    graft_heads(larger / "garment-embedder.onnx", again, tmp_path / "work")
    regrafted = json.loads((again / "manifest.json").read_text())
    assert regrafted["inputs"][0]["shape"] == ["batch", 3, 160, 160]
    assert (regrafted["provenance"]["label_heads"]["base_sha256"]
            == manifest["provenance"]["label_heads"]["base_sha256"])


def changed_backbone_weights(grafted) -> set[str]:
    """Names of the CenterNet backbone weights that a graft holds changed (trained)."""
    import onnx
    from onnx import numpy_helper

    shipped = {t.name: numpy_helper.to_array(t) for t in
               onnx.load(str(REPO / "models" / "centernet" / "centernet.onnx")).graph.initializer}
    changed = set()
    for t in onnx.load(str(grafted / "garment-embedder.onnx")).graph.initializer:
        name = t.name.removeprefix("cn/")
        if (t.name.startswith("cn/") and name in shipped
                and not np.array_equal(numpy_helper.to_array(t), shipped[name])):
            changed.add(name)
    return changed


def assert_fine_tuned_from(grafted, first: int) -> None:
    """The graft's backbone changed from block `first` to the last and nowhere below, as its
    manifest says."""
    changed = changed_backbone_weights(grafted)
    assert any(f"expanded_conv_{first}/" in n for n in changed)
    assert any("expanded_conv_14/expand" in n for n in changed)
    below = [f"expanded_conv_{i}/" for i in range(1, first)] + ["expanded_conv/"]
    assert not [n for n in changed if any(block in n for block in below)]
    manifest = json.loads((grafted / "manifest.json").read_text())
    assert f"blocks {first}-14 fine-tuned" in manifest["provenance"]["label_heads"]["backbone"]


@pytest.mark.slow
@requires_data
def test_fine_tuning_changes_the_top_blocks_of_the_backbone_and_nothing_below(grafted_model):
    grafted, log = grafted_model
    assert "fine-tuning blocks 8-14" in log
    assert_fine_tuned_from(grafted, 8)


@pytest.mark.slow
@requires_data
def test_fine_tuning_can_start_at_a_later_block_and_keep_more_frozen(smoke_model, tmp_path):
    models, _ = smoke_model
    shallower = tmp_path / "models" / "garment-embedder"
    log = graft_heads(models / "garment-embedder" / "garment-embedder.onnx", shallower,
                      tmp_path / "work", "--tune-from", "12")
    assert "fine-tuning blocks 12-14" in log and "trained blocks in ONNX match torch" in log
    assert_fine_tuned_from(shallower, 12)


@pytest.mark.slow
@requires_data
def test_fine_tuning_cannot_start_inside_a_block_without_a_residual_sum(smoke_model, tmp_path):
    models, _ = smoke_model
    with pytest.raises(AssertionError, match=r"--tune-from 11: .*residual sum: one of \[.*\b12\b"):
        graft_heads(models / "garment-embedder" / "garment-embedder.onnx", tmp_path / "out",
                    tmp_path / "work", "--tune-from", "11")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def averaged_model(smoke_model, grafted_model, tmp_path_factory):
    """The grafted model's heads averaged with those of a second graft (another seed, blocks
    12-14 fine-tuned) by training.label_heads.ensemble: (the averaged model, the two grafts,
    log)."""
    models, _ = smoke_model
    grafted, _ = grafted_model
    root = tmp_path_factory.mktemp("averaged")
    second = root / "second" / "garment-embedder"
    graft_heads(models / "garment-embedder" / "garment-embedder.onnx", second, root / "work",
                "--seed", "1", "--tune-from", "12")
    averaged = root / "models" / "garment-embedder"
    log = run_module("training.label_heads.ensemble", str(grafted / "garment-embedder.onnx"),
                     str(second / "garment-embedder.onnx"), "--data", str(DATA), "--limit", "48",
                     "--out", str(averaged), timeout=600)
    return averaged, (grafted, second), log


def head_parts(embedding: np.ndarray, manifest: dict, base_dim: int) -> dict[str, np.ndarray]:
    """A graft's embedding split back into its heads' weighted square-rooted distributions:
    the embedder's part has length `base_scale` before the joint normalisation."""
    heads = manifest["provenance"]["label_heads"]
    stretch = heads["base_scale"] / np.linalg.norm(embedding[:, :base_dim], axis=1, keepdims=True)
    parts, start = {}, base_dim
    for k, classes in heads["classes"].items():
        parts[k] = embedding[:, start : start + len(classes)] * stretch / heads["weights"][k]
        start += len(classes)
    assert start == embedding.shape[1]
    return parts


@pytest.mark.slow
@requires_data
def test_averaged_heads_predict_the_mean_of_the_grafts_distributions(smoke_model,
                                                                     averaged_model):
    models, _ = smoke_model
    averaged, grafts, log = averaged_model
    assert "averaging the heads of 2 grafts" in log and "grafted ONNX matches its parts" in log
    crops = [np.full((90, 60, 3), 200, np.uint8), np.random.default_rng(2).integers(
        0, 256, (120, 80, 3), dtype=np.uint8)]
    base_dim = Embedder(ModelStore(models), "garment-embedder").predict(crops).shape[1]

    def parts(model) -> dict[str, np.ndarray]:
        manifest = json.loads((model / "manifest.json").read_text())
        return head_parts(Embedder(ModelStore(model.parent), "garment-embedder").predict(crops),
                          manifest, base_dim)

    first, second = (parts(g) for g in grafts)
    both = parts(averaged)
    assert set(both) == set(first) == set(second)
    for k in both:
        assert np.allclose(both[k] ** 2, (first[k] ** 2 + second[k] ** 2) / 2, atol=1e-4), k
        assert not np.allclose(first[k], second[k], atol=1e-3), k  # two different opinions


@pytest.mark.slow
@requires_data
def test_averaged_heads_keep_each_recipe_and_run_the_shared_frozen_blocks_once(averaged_model):
    import onnx

    averaged, _, _ = averaged_model
    heads = json.loads((averaged / "manifest.json").read_text())["provenance"]["label_heads"]
    assert heads["trained_by"] == "training.label_heads.ensemble"
    assert [b["seed"] for b in heads["branches"]] == [0, 1]
    assert "blocks 8-14 fine-tuned" in heads["branches"][0]["backbone"]
    assert "blocks 12-14 fine-tuned" in heads["branches"][1]["backbone"]
    weights = [t.name for t in onnx.load(str(averaged / "garment-embedder.onnx")).graph.initializer]
    # blocks 0-7 are frozen in both branches: one copy; blocks 8-14 differ: two
    assert any("expanded_conv_7/" in n for n in weights if n.startswith("cn/"))
    assert not any(f"expanded_conv_{b}/" in n for n in weights if n.startswith("cn2/")
                   for b in range(1, 8))
    assert any("expanded_conv_8/" in n for n in weights if n.startswith("cn2/"))


@pytest.mark.slow
@requires_data
def test_only_heads_grafted_onto_the_same_embedder_are_averaged(averaged_model, tmp_path):
    averaged, (first, _), _ = averaged_model
    other = tmp_path / "other"  # as if grafted onto another embedder
    shutil.copytree(first, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["provenance"]["label_heads"]["base_sha256"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AssertionError, match="differ in their base_sha256"):
        run_module("training.label_heads.ensemble", str(first / "garment-embedder.onnx"),
                   str(other / "garment-embedder.onnx"), "--out", str(tmp_path / "out"),
                   timeout=300)
    with pytest.raises(AssertionError, match="already averages several branches"):
        run_module("training.label_heads.ensemble", str(averaged / "garment-embedder.onnx"),
                   str(first / "garment-embedder.onnx"), "--out", str(tmp_path / "out"),
                   timeout=300)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def centred_model(grafted_model, tmp_path_factory):
    """The smoke graft centred on its training products' mean embedding (in a models/ folder)."""
    grafted, _ = grafted_model
    models = tmp_path_factory.mktemp("centred") / "models"
    shutil.copytree(grafted, models / "garment-embedder")
    log = run_module("training.embedder.centre", "--data", str(DATA), "--limit", "48",
                     "--models", str(models), timeout=300)
    return models, log


def training_products(limit: int) -> list[np.ndarray]:
    """The letterboxed training products training.embedder's split keeps (monitoring slice
    out)."""
    from training.embedder.shipped import training_data

    data = training_data(DATA, limit)
    return list(data.cat.images.numpy())


@pytest.mark.slow
@requires_data
def test_centring_subtracts_the_training_products_mean_embedding(grafted_model, centred_model):
    import onnx
    from onnx import numpy_helper

    grafted, _ = grafted_model
    models, log = centred_model
    assert "centred ONNX matches the centred embeddings" in log and "ETA" in log
    before = json.loads((grafted / "manifest.json").read_text())
    after = json.loads((models / "garment-embedder" / "manifest.json").read_text())
    assert file_sha256(models / "garment-embedder" / after["file"]) == after["sha256"]
    assert after["provenance"]["centring"]["uncentred_sha256"] == before["sha256"]
    assert after["outputs"][0]["shape"] == before["outputs"][0]["shape"]
    assert "consensus" not in after["extra"]  # tuned for the uncentred file

    products = training_products(48)
    uncentred = Embedder(ModelStore(grafted.parent), "garment-embedder").predict(products)
    centred = Embedder(ModelStore(models), "garment-embedder").predict(products)
    graph = onnx.load(str(models / "garment-embedder" / after["file"])).graph
    mean = next(numpy_helper.to_array(t) for t in graph.initializer if t.name == "centring/mean")
    assert np.allclose(mean[0], uncentred.mean(axis=0), atol=1e-5)
    want = uncentred - mean
    assert np.allclose(centred, want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-4)
    # the common part is gone: the products no longer point the same way on average
    assert np.linalg.norm(centred.mean(axis=0)) < 0.5 * np.linalg.norm(uncentred.mean(axis=0))


@pytest.mark.slow
@requires_data
def test_a_centred_embedder_is_not_centred_twice(centred_model, tmp_path):
    models, _ = centred_model
    again = tmp_path / "models"
    shutil.copytree(models / "garment-embedder", again / "garment-embedder")
    with pytest.raises(AssertionError, match="already centred"):
        run_module("training.embedder.centre", "--data", str(DATA), "--limit", "48",
                   "--models", str(again), timeout=300)
    assert (file_sha256(again / "garment-embedder" / "garment-embedder.onnx")
            == file_sha256(models / "garment-embedder" / "garment-embedder.onnx"))


@pytest.mark.slow
@requires_data
def test_grafting_onto_a_grafted_model_replaces_its_heads_and_its_centring(centred_model,
                                                                          tmp_path):
    import onnx

    models, _ = centred_model
    tuned = tmp_path / "tuned"  # as if training.evaluate.consensus had run on it
    shutil.copytree(models / "garment-embedder", tuned)
    first = json.loads((tuned / "manifest.json").read_text())
    first["extra"]["consensus"] = {"type": 0.01, "type_colour": 0.02, "variety": 0.02}
    (tuned / "manifest.json").write_text(json.dumps(first))
    again = tmp_path / "models" / "garment-embedder"
    graft_heads(tuned / "garment-embedder.onnx", again, tmp_path / "work")
    second = json.loads((again / "manifest.json").read_text())
    assert "consensus" not in second["extra"]  # tuned for the old file, not the new one
    assert "centring" not in second["provenance"]  # training.embedder.centre runs again after
    assert "centring" not in second["outputs"][0]["meaning"]
    graph = onnx.load(str(again / "garment-embedder.onnx")).graph
    assert not [t.name for t in graph.initializer if t.name.startswith("centring/")]
    assert (second["provenance"]["label_heads"]["base_sha256"]
            == first["provenance"]["label_heads"]["base_sha256"])
    assert second["outputs"][0]["shape"] == first["outputs"][0]["shape"]  # not stacked
    assert second["licence"] == first["licence"]
    assert first["licence"].count("CenterNet") == 1


@pytest.mark.slow
@requires_data
def test_a_grafted_model_is_not_re_exported_as_if_it_were_the_embedder(grafted_model, tmp_path):
    grafted, _ = grafted_model
    with pytest.raises(AssertionError, match="label heads grafted on"):
        run_module("training.embedder", "--reexport", str(grafted / "garment-embedder.onnx"),
                   "--out", str(tmp_path / "out"), timeout=300)


@pytest.mark.slow
@requires_data
def test_consensus_tuning_writes_its_weights_into_the_manifest_and_leaves_the_model(
        grafted_model, tmp_path):
    grafted, _ = grafted_model
    models = tmp_path / "models"
    shutil.copytree(grafted, models / "garment-embedder")
    before = json.loads((models / "garment-embedder" / "manifest.json").read_text())
    log = run_module("training.evaluate.consensus", "--data", str(DATA), "--limit", "48",
                     "--models", str(models), timeout=300)
    assert "similarity alone:" in log and "chosen:" in log and "ETA" in log
    after = json.loads((models / "garment-embedder" / "manifest.json").read_text())
    consensus = after["extra"].pop("consensus")
    assert after == before  # nothing else in the manifest changed
    assert consensus["voters"] == 10
    assert consensus["tuned_by"] == "training.evaluate.consensus"
    # (consensus >= similarity alone holds by construction: the weights are chosen by that score)
    scores = consensus["tuning_scores"]
    assert len(scores["consensus"]) == len(scores["similarity_alone"]) == len(scores["names"]) == 4
    Embedder(ModelStore(models), "garment-embedder").predict([np.zeros((8, 8, 3), np.uint8)])


@pytest.mark.slow
@requires_data
def test_heads_continue_from_a_graft_and_learn_worn_crops_labelled_as_their_product(
        grafted_model, tmp_path):
    grafted, _ = grafted_model
    onnx_path = grafted / "garment-embedder.onnx"
    out = tmp_path / "models" / "garment-embedder"
    log = graft_heads(onnx_path, out, tmp_path / "work", "--worn-crops", "--init-from",
                      str(onnx_path))
    assert f"continuing from {onnx_path}" in log
    worn = re.search(r"worn crops: (\d+) of 46 training products", log)
    street = re.search(r"backgrounds, (\d+) garment crops", log)
    assert worn and 0 < int(worn[1]) < 46  # a smoke catalog has model shots and packshots
    # one view each (--views 1): every product, then each worn crop, then each street box
    assert f"on {46 + int(worn[1]) + int(street[1])} views" in log
    # the views of worn crops go stale with the crops: named by what finds them
    from training.embedder.worn import worn_crops_key
    views = [p.name for p in (tmp_path / "work").glob("maps-*")]
    assert views and all(v.endswith(f"-worn-{worn_crops_key(ModelStore())}.pt") for v in views)
    assert "grafted ONNX matches its parts" in log
    heads = json.loads((out / "manifest.json").read_text())["provenance"]["label_heads"]
    assert heads["worn_crops"] is True
    assert heads["continued_from"]["sha256"] == file_sha256(onnx_path)
    assert heads["continued_from"]["label_heads"]["worn_crops"] is False


def test_a_continued_head_starts_where_the_graft_left_it():
    """`HeadNet.start_from` undoes what `linear_heads` folds in (the standardisation)."""
    import torch

    from training.label_heads.heads import HeadNet, Heads

    rng = np.random.default_rng(0)
    classes = {"colour": ["Black", "Blue", "Red"]}
    net = HeadNet.__new__(HeadNet)
    torch.nn.Module.__init__(net)
    net.register_buffer("mean", torch.from_numpy(rng.normal(size=5).astype(np.float32)))
    net.register_buffer("std", torch.from_numpy(rng.uniform(0.1, 2, 5).astype(np.float32)))
    net.heads = torch.nn.ModuleDict({"head_colour": torch.nn.Linear(5, 3)})
    trained = Heads({"colour": rng.normal(size=(5, 3)).astype(np.float32)},
                    {"colour": rng.normal(size=3).astype(np.float32)}, classes)
    net.start_from(trained)
    again = net.linear_heads(classes)
    assert np.allclose(again.weight["colour"], trained.weight["colour"], atol=1e-5)
    assert np.allclose(again.bias["colour"], trained.bias["colour"], atol=1e-5)


@pytest.mark.slow
@requires_data
def test_a_worn_crop_is_its_products_garment_with_its_products_labels(tmp_path):
    import torch

    from training.embedder.data import TrainingSplit, load_catalog, read_training_rows
    from training.embedder.worn import with_worn_crops

    split = TrainingSplit(DATA, 48, cache_size=96)
    rows, _ = read_training_rows(split.data, split.val_fraction, split.limit)
    cat = load_catalog(DATA, rows, split.cache_size)
    both = with_worn_crops(cat, split, tmp_path, ModelStore())
    assert both.ids[: len(cat.ids)] == cat.ids
    crops = both.ids[len(cat.ids):]
    assert crops and all(c.endswith("#worn") for c in crops)
    for i, crop_id in enumerate(crops, start=len(cat.ids)):
        product = cat.ids.index(crop_id.removesuffix("#worn"))
        assert all(both.labels[k][i] == both.labels[k][product] for k in both.labels)
        assert not torch.equal(both.images[i], both.images[product])  # a crop, not the photo
    again = with_worn_crops(cat, split, tmp_path, ModelStore())  # the second time from the cache
    assert again.ids == both.ids and torch.equal(again.images, both.images)
