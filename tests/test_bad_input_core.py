"""Bad input to the core (roma.degrade, RomaConfig, the trainer, the model cache): a clear error naming the problem,
never a deep traceback, a silent NaN or a wrong result (issue 10).

`CASES` is the table: one line per case, ``(case id, call, expected error class, phrase the message must hold)``;
add a case by adding a line. Behaviour that is not an error (a race, a memory bound, a result) has its own test below.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable

import numpy as np
import pytest

import roma.degrade as D
from roma.cli import SUBCOMMANDS
from roma.degrade import corruptions as builtin_corruptions
from roma.degrade import functional as F

NAN, INF = float("nan"), float("inf")


def _config(**overrides):
    from roma import RomaConfig

    return RomaConfig(output_dir="unused", use_cpu=True, bf16=False, report_to="none", **overrides)


def _train_args(*argv: str):
    from roma.scripts.train import parse_args

    return parse_args(["--output_dir", "unused", "--use_cpu", "true", "--bf16", "false", *argv])


def _corrupt_with_user_corruption_writing_into_its_input():
    @D.register_corruption("darken_in_place")
    def darken_in_place(image, severity, rng):
        image //= 2
        return image

    return D.corrupt(np.full((4, 4, 3), 200, np.uint8), "darken_in_place", 1)


BLACK = np.zeros((4, 4, 3), np.uint8)

# fmt: off
CASES: list[tuple[str, Callable[[], object], type[BaseException], str]] = [
    # item 22: a group given to corrupt(), which applies one corruption
    ("corrupt-group-seen", lambda: D.corrupt(BLACK, "seen", 1), D.UnknownCorruptionError, "'seen' is a group of corruptions, not one corruption"),
    ("corrupt-group-to-sampler", lambda: D.corrupt(BLACK, "all", 1), D.UnknownCorruptionError, "DegradationSampler('all'"),
    ("get-corruption-group", lambda: D.get_corruption("unseen"), D.UnknownCorruptionError, "'unseen' is a group of corruptions"),
    # item 18: a user corruption writing into its read-only input
    ("user-corruption-writes-input", _corrupt_with_user_corruption_writing_into_its_input, D.CorruptionContractError, "corruption 'darken_in_place' wrote into its input image, which is read-only"),
    # item 6: NaN / inf float fields
    ("config-nan-kl-coef", lambda: _config(roma_kl_coef=NAN), ValueError, "roma_kl_coef must be a finite number"),
    ("config-inf-kl-coef", lambda: _config(roma_kl_coef=INF), ValueError, "roma_kl_coef must be a finite number"),
    ("config-nan-aux-coef", lambda: _config(roma_aux_coef=NAN), ValueError, "roma_aux_coef must be a finite number"),
    ("config-nan-threshold", lambda: _config(roma_correctness_threshold=NAN), ValueError, "roma_correctness_threshold must be a finite"),
    ("config-nan-fraction", lambda: _config(roma_noisy_rollout_fraction=NAN), ValueError, "roma_noisy_rollout_fraction must be a finite"),
    ("config-nan-learning-rate", lambda: _config(learning_rate=NAN), ValueError, "learning_rate must be a finite number"),
    ("config-nan-beta", lambda: _config(beta=NAN), ValueError, "beta must be a finite number"),
    ("train-cli-nan-kl-coef", lambda: _train_args("--roma_kl_coef", "nan"), ValueError, "roma_kl_coef must be a finite number"),
    # item 9: unknown corruptions refused when the config is built, before the recipe evaluates or loads anything
    ("config-unknown-corruption", lambda: _config(roma_corruptions=["gausian_blur"]), D.UnknownCorruptionError, "Did you mean 'gaussian_blur'?"),
    ("config-unknown-in-comma-list", lambda: _config(roma_corruptions="seen,motion_blurr"), D.UnknownCorruptionError, "unknown corruption or group 'motion_blurr'"),
    ("train-cli-unknown-corruption", lambda: _train_args("--roma_corruptions", "seen,jpeg"), D.UnknownCorruptionError, "unknown corruption or group 'jpeg'"),
    # issue 21 item 8: residuals
    ("config-numpy-float32-nan", lambda: _config(roma_kl_coef=np.float32("nan")), ValueError, "roma_kl_coef must be a finite number"),
    ("config-numpy-float64-inf", lambda: _config(roma_aux_coef=np.float64("inf")), ValueError, "roma_aux_coef must be a finite number"),
    ("config-fractional-views", lambda: _config(roma_num_views=2.5), ValueError, "roma_num_views must be an integer, got float 2.5"),
    ("config-bool-views", lambda: _config(roma_num_views=True), ValueError, "roma_num_views must be an integer, got bool True"),
    ("over-long-severity-cut-short", lambda: D.corrupt(BLACK, "gaussian_blur", "9" * 1000), D.SeverityError, "got str: '" + "9" * 76 + "..."),
    ("sheet-over-the-pixel-limit", lambda: D.contact_sheet(np.zeros((64, 64, 3), np.uint8), "all", tile=20000), D.DegradationError, "over the limit of 89,478,485"),
]
# fmt: on


@pytest.mark.parametrize(("call", "error", "phrase"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
@pytest.mark.usefixtures("clean_registry")
def test_bad_input_gets_a_clear_error(call, error, phrase):
    with pytest.raises(error) as raised:
        call()
    assert phrase in str(raised.value)


# ------------------------------------------------------------------------- item 21: the contact_sheet name
def test_contact_sheet_stays_the_function_after_its_module_is_imported():
    importlib.import_module(SUBCOMMANDS["degrade"][0])  # what `roma degrade` imports
    from roma.degrade import contact_sheet

    assert inspect.isfunction(contact_sheet)
    assert D.contact_sheet is contact_sheet


# ---------------------------------------------- item 23 (shot_noise), issue 21 item 8 (gaussian_noise): noise in bands
# (corruption, its band constant, severity, the whole-image kernel for a seed: what the banded result must equal)
NOISE_IN_BANDS = [
    ("shot_noise", "SHOT_NOISE_BAND_VALUES", 3, lambda image, seed: F.shot_noise(image, np.random.default_rng(seed).random(image.shape), 12.0)),
    ("gaussian_noise", "GAUSSIAN_NOISE_BAND_VALUES", 5, lambda image, seed: F.gaussian_noise(image, np.random.default_rng(seed).standard_normal(image.shape, dtype=np.float32), 0.38)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "band_constant", "severity", "whole_image"), NOISE_IN_BANDS, ids=[c[0] for c in NOISE_IN_BANDS]
)
def test_noise_in_bands_is_bit_identical_to_one_whole_image_draw(name, band_constant, severity, whole_image, monkeypatch):  # fmt: skip
    image = np.random.default_rng(0).integers(0, 256, (97, 61, 3), dtype=np.uint8)
    whole = whole_image(image, 3)
    # 500 values: 2 rows per band, and a ragged last band.
    monkeypatch.setattr(builtin_corruptions, band_constant, 500)
    assert np.array_equal(D.corrupt(image, name, severity, rng=3), whole)


@pytest.mark.parametrize(
    ("name", "band_constant", "severity", "whole_image"), NOISE_IN_BANDS, ids=[c[0] for c in NOISE_IN_BANDS]
)
def test_noise_peak_memory_is_bounded_by_the_band_not_the_image(name, band_constant, severity, whole_image, monkeypatch):  # fmt: skip
    import tracemalloc

    image = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    monkeypatch.setattr(builtin_corruptions, band_constant, 1 << 15, raising=False)
    tracemalloc.start()
    try:
        D.corrupt(image, name, severity, rng=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The output (1×) plus one band's working set; unbanded, shot noise needed ~32× the image, gaussian ~16×.
    assert peak < 3 * image.nbytes


# ------------------------------------------------------------------------- item 10: concurrent tiny-model builds
def test_a_tiny_model_build_losing_the_race_keeps_the_winners_checkpoint(tmp_path, monkeypatch):
    from roma.models import tiny

    final = tmp_path / "models" / "qwen3_vl-tiny-seed0"
    real_build = tiny.build_tiny_model
    winner: dict[str, int] = {}

    def build_while_another_process_finishes(family, out_dir, size, seed):
        # Deterministic interleaving: the other process publishes its checkpoint while this one builds.
        real_build(family, final, size=size, seed=seed)
        winner["inode"] = os.stat(final / "model.safetensors").st_ino
        return real_build(family, out_dir, size=size, seed=seed)

    monkeypatch.setattr(tiny, "build_tiny_model", build_while_another_process_finishes)
    path = tiny.resolve_model("roma-tiny/qwen3_vl-tiny", cache_dir=tmp_path)
    assert path == str(final)
    # The winner's files were never deleted under a reader, and the loser left no temporary folder behind.
    assert os.stat(final / "model.safetensors").st_ino == winner["inode"]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [final.name]


# ------------------------------------------------------------------------- item 1: rows sharing an id
def test_rows_sharing_an_id_are_regularised_on_views_of_their_own_images(tiny_qwen3_vl_path, tmp_path):
    from datasets import Dataset
    from test_trainer import _image, always_right, config

    from roma import RomaGRPOTrainer
    from roma.data.prompts import build_conversation

    # Two prompts, one id, different images (and image sizes): a dataset with repeated ids.
    rows = [
        {"id": "dup", "prompt": build_conversation("How many?"), "image": _image(i, size), "answer": "1"}
        for i, size in enumerate([(64, 64), (96, 64)])
    ]
    trainer = RomaGRPOTrainer(
        model=str(tiny_qwen3_vl_path),
        reward_funcs=always_right,
        args=config(tmp_path, max_steps=1, per_device_train_batch_size=4, num_generations=2),
        train_dataset=Dataset.from_list(rows),
    )
    trainer.train()  # before: "The size of tensor a ... must match" (the second row got the first one's views)
    kl = [entry["roma/kl_worst"] for entry in trainer.state.log_history if "roma/kl_worst" in entry]
    assert kl and all(np.isfinite(kl))


def test_comma_lists_of_corruptions_from_the_command_line_are_split():
    _, training_args, _ = _train_args("--roma_corruptions", "seen,motion_blur", "gaussian_noise")
    assert training_args.roma_corruptions == ["seen", "motion_blur", "gaussian_noise"]
