"""roma.trainer.views and roma.trainer.metrics without TRL: the trainer's view building and metrics as functions.

The trainer end to end (TRL's hooks calling these) is tests/test_trainer.py and tests/test_baselines.py; here each
piece runs on a real Qwen2-VL image processor and hand-built batches, with TRL never imported.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from roma.degrade import DegradationRecord, DegradationSampler, corrupt, rng_for
from roma.trainer import metrics, views
from roma.trainer.layouts import GRID

NUM_VIEWS = 3


@pytest.fixture(scope="module")
def image_processor():
    from transformers import Qwen2VLImageProcessor

    return Qwen2VLImageProcessor(min_pixels=32 * 32, max_pixels=64 * 64)


def _image(seed: int, size=(64, 48)) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _sampler() -> DegradationSampler:
    return DegradationSampler(corruptions="seen", severities=(1, 5), seed=7)


def test_importing_views_and_metrics_loads_no_trl():
    code = "import sys, roma.trainer.views, roma.trainer.metrics; print('trl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_moved_names_still_import_from_the_trainer_module():
    pytest.importorskip("trl")
    from roma.trainer import trainer

    assert trainer.training_view_id is views.training_view_id
    assert trainer.view_cache_key is views.view_cache_key
    assert trainer.decay_kl_sums is metrics.decay_kl_sums
    assert trainer.KL_METRIC_DECAY == metrics.KL_METRIC_DECAY


def test_keys_separate_rows_that_share_an_id_but_not_their_images():
    a, b = {"id": "q1", "image": _image(0)}, {"id": "q1", "image": _image(1)}
    assert views.view_cache_key(a, "q1") != views.view_cache_key(b, "q1")
    assert views.view_cache_key({"image": _image(0)}, "hash") == "hash"  # a key made from the images already
    assert views.training_view_id("q1", 4) == "q1@step4"
    assert views.rollout_view_id("noisy_rollout", "q1", 4) == "noisy_rollout/q1@step4"


def test_aux_views_are_in_range_and_keyed_by_row_and_step():
    keys = [f"k{i}" for i in range(64)]
    drawn = views.aux_view_indices(0, keys, step=3, start=0, num_views=NUM_VIEWS)
    assert set(drawn) == set(range(NUM_VIEWS))
    assert drawn == views.aux_view_indices(0, keys, step=3, start=0, num_views=NUM_VIEWS)
    assert drawn != views.aux_view_indices(0, keys, step=4, start=0, num_views=NUM_VIEWS)
    assert drawn[8:] == views.aux_view_indices(0, keys[8:], step=3, start=8, num_views=NUM_VIEWS)


def test_prepared_views_are_the_samplers_views_through_the_image_processor(image_processor):
    rows = [{"id": "a", "image": _image(0)}, {"id": "b"}, {"id": "a", "image": _image(0)}]
    keys = ["a", "b", "a"]
    per_prompt = views.prompts_with_images(
        rows, keys, [views.view_cache_key(r, k) for r, k in zip(rows, keys)]
    )
    assert list(per_prompt.values()) == [
        ("a", [rows[0]["image"]])
    ]  # the text-only row and the repeat dropped
    sampler = _sampler()
    prepared = views.prepare_views(per_prompt, 5, image_processor, sampler, GRID, NUM_VIEWS)
    ((pixel_values, records, processed),) = prepared.values()
    assert pixel_values.shape[0] == NUM_VIEWS and len(records) == len(processed) == NUM_VIEWS
    for view in range(NUM_VIEWS):
        degraded, record = sampler.sample([rows[0]["image"]], "a@step5", view)
        expected = image_processor(images=degraded, return_tensors="pt")
        assert records[view] == record
        assert torch.equal(pixel_values[view], expected["pixel_values"])
        assert torch.equal(processed[view]["image_grid_thw"], expected["image_grid_thw"])
    again = views.prepare_views(per_prompt, 5, image_processor, sampler, GRID, NUM_VIEWS)
    assert torch.equal(next(iter(again.values()))[0], pixel_values)


def _clean_batch(image_processor, images: list[Image.Image | None]) -> dict:
    """TRL's batch dict as far as the views need it: the clean image inputs of each row, flat over the batch."""
    processed = [
        image_processor(images=[image], return_tensors="pt") for image in images if image is not None
    ]
    return {
        "pixel_values": torch.cat([p["pixel_values"] for p in processed]),
        "image_grid_thw": torch.cat([p["image_grid_thw"] for p in processed]),
        "num_images": [int(image is not None) for image in images],
    }


def test_degraded_pixel_values_line_up_with_the_rows(image_processor):
    rows = [{"id": "a", "image": _image(0)}, {"id": "b"}, {"id": "c", "image": _image(2, size=(48, 64))}]
    keys = ["a", "b", "c"]
    prepared = views.prepare_views(
        views.prompts_with_images(rows, keys, keys), 0, image_processor, _sampler(), GRID, NUM_VIEWS
    )
    output = _clean_batch(image_processor, [r.get("image") for r in rows])
    pixel_values, names, has_image = views.degraded_pixel_values(
        keys, output, prepared, GRID, NUM_VIEWS, "cpu"
    )
    assert has_image.tolist() == [True, False, True]
    assert pixel_values[1] is None and names[1] == [None] * NUM_VIEWS
    for row in (0, 2):
        assert torch.equal(pixel_values[row], prepared[keys[row]][0])
        assert names[row] == [r.name for r in prepared[keys[row]][1]]
    empty = views.degraded_pixel_values(keys, output, {}, GRID, NUM_VIEWS, "cpu")
    assert empty[0] == [None] * 3 and not empty[2].any()


def test_a_view_whose_layout_changed_is_refused_with_the_corruption_and_sample(image_processor):
    rows = [{"id": "a", "image": _image(0, size=(64, 32))}]
    prepared = views.prepare_views(
        views.prompts_with_images(rows, ["a"], ["a"]), 0, image_processor, _sampler(), GRID, NUM_VIEWS
    )
    other_size = _clean_batch(image_processor, [_image(0, size=(32, 64))])  # a patch grid of 4 x 2, not 2 x 4
    with pytest.raises(
        ValueError, match=r"corruption '.+' \(severity .+\) changed the image layout of sample 'a'"
    ):
        views.degraded_pixel_values(["a"], other_size, prepared, GRID, NUM_VIEWS, "cpu")
    with pytest.raises(RuntimeError, match=r"carry no \['num_images', 'pixel_values', 'image_grid_thw'\]"):
        views.degraded_pixel_values(["a"], {"pixel_values": None}, prepared, GRID, NUM_VIEWS, "cpu")


def test_forward_inputs_put_view_k_of_each_row_in_place_of_its_clean_pixels(image_processor):
    rows = [{"id": "a", "image": _image(0)}, {"id": "b", "image": _image(1)}]
    keys = ["a", "b"]
    prepared = views.prepare_views(
        views.prompts_with_images(rows, keys, keys), 0, image_processor, _sampler(), GRID, NUM_VIEWS
    )
    inputs = _clean_batch(image_processor, [r["image"] for r in rows])
    inputs["roma_pixel_values"], _, _ = views.degraded_pixel_values(
        keys, inputs, prepared, GRID, NUM_VIEWS, "cpu"
    )
    inputs["pixel_values"] = inputs["pixel_values"].to(torch.bfloat16)
    inputs["mm_token_type_ids"] = torch.tensor([[0, 1, 0], [0, 0, 1]])
    inputs.update(
        prompt_ids=torch.tensor([[1, 2], [3, 4]]),
        completion_ids=torch.tensor([[5], [6]]),
        prompt_mask=torch.ones(2, 2, dtype=torch.long),
        completion_mask=torch.ones(2, 1, dtype=torch.long),
    )
    pairs = [(2, 1), (0, 0)]
    input_ids, attention_mask, kwargs = views.views_forward_inputs(inputs, pairs, GRID)
    assert input_ids.tolist() == [[3, 4, 6], [1, 2, 5]] and attention_mask.shape == (2, 3)
    expected = torch.cat([inputs["roma_pixel_values"][1][2], inputs["roma_pixel_values"][0][0]])
    assert kwargs["pixel_values"].dtype == torch.bfloat16
    assert torch.equal(kwargs["pixel_values"], expected.to(torch.bfloat16))
    assert kwargs["num_images"] == [1, 1] and kwargs["mm_token_type_ids"].tolist() == [[0, 0, 1], [0, 1, 0]]
    clean = views.clean_forward_kwargs(inputs, [1], GRID)
    assert torch.equal(clean["pixel_values"], GRID.clean_rows(inputs, 1)["pixel_values"])
    assert clean["mm_token_type_ids"].tolist() == [[0, 0, 1]]


def test_a_rollout_row_is_view_0_drawn_by_the_sampler(image_processor):
    sampler = _sampler()
    example = {"id": "a", "images": [_image(0), _image(1)], "prompt": "p"}
    degraded = views.with_degraded_images(example, sampler, "noisy_rollout/a@step2")
    record = sampler.sample_params("noisy_rollout/a@step2", 0)
    for index, image in enumerate(example["images"]):
        expected = corrupt(image, record.name, record.severity, rng_for(7, "noisy_rollout/a@step2", index))
        assert np.array_equal(np.asarray(degraded["images"][index]), np.asarray(expected))
    assert degraded["prompt"] == "p" and example["images"][0] is not degraded["images"][0]
    halved = views.with_degraded_images(example, sampler, "noisy_rollout/a@step2", lambda s: 1.0)
    assert np.array_equal(
        np.asarray(halved["images"][0]),
        np.asarray(
            sampler.apply(example["images"], "noisy_rollout/a@step2", DegradationRecord(record.name, 1.0))[0]
        ),
    )
    text_only = {"id": "b", "prompt": "q"}
    assert views.with_degraded_images(text_only, sampler, "x") is text_only


def test_metric_sums_are_token_weighted_over_views_and_corruptions():
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])  # two sequences: 2 and 1 tokens
    kl_per_view = torch.tensor(
        [[[1.0, 3.0, 9.0], [2.0, 9.0, 9.0]], [[3.0, 5.0, 9.0], [4.0, 9.0, 9.0]]]
    )  # [K=2, S, T]
    stats = {
        "mask": mask,
        "kl_per_view": kl_per_view,
        "worst_kl": kl_per_view.max(0).values,
        "aux_per_token": torch.ones(2, 3),
        "logp_gap": torch.zeros(2, 2, 3),
        "names": [["blur", "jpeg"], ["jpeg", "blur"]],
    }
    local, per_corruption = metrics.local_metric_sums(stats, "cpu")
    assert local.tolist() == [3 + 5 + 4, (1 + 3 + 2 + 3 + 5 + 4) / 2, 3, 0, 3]
    assert per_corruption == {"blur": [4.0 + 4.0, 3.0], "jpeg": [8.0 + 2.0, 3.0]}
    logged: dict[str, list[float]] = {
        k: [] for k in ("roma/kl_worst", "roma/kl_mean", "roma/aux_loss", "roma/logp_gap")
    }
    logged.update({"roma/kl/blur": [], "roma/kl/jpeg": []})
    running: dict[str, list[float]] = {}
    metrics.append_metrics(logged, local.tolist(), [per_corruption, {"blur": [1.0, 1.0]}], running)
    assert logged["roma/kl_worst"] == [4.0] and logged["roma/aux_loss"] == [1.0]
    assert logged["roma/kl/blur"] == [9.0 / 4.0] and logged["roma/kl/jpeg"] == [10.0 / 3.0]
    empty, none = metrics.local_metric_sums(None, "cpu")
    assert empty.tolist() == [0.0] * 5 and none == {}
