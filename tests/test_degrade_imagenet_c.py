"""The rest of ImageNet-C against its reference, the capture distortions, and the listed groups.

Random corruptions are compared pixel by pixel: each test replays the reference's own draws (NumPy's global
generator, or numba's for glass blur) into roma's pure kernel, so both compute from the same randomness.
Reference: ``imagecorruptions`` (``imagecorruptions-imaug``), rounded to the nearest grey level as roma rounds.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

import roma.degrade as D
from roma.degrade import capture, weather
from roma.degrade import functional as F

reference = pytest.importorskip("imagecorruptions.corruptions")

# The suite as the reference package names it: its 15 corruptions, then the 4 extra ones, in its order.
IMAGENET_C_19 = pytest.importorskip("imagecorruptions").get_corruption_names("all")
CAPTURE = ["rotation", "perspective_warp", "uneven_illumination", "resampling"]
SEVERITIES = (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """A square and a landscape photo (64 × 96), small so every severity stays fast."""
    from skimage import data

    return [
        cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA),
        cv2.resize(data.coffee(), (96, 64), interpolation=cv2.INTER_AREA),
    ]


def differences(ours: np.ndarray, theirs) -> np.ndarray:
    rounded = np.clip(np.rint(np.asarray(theirs, dtype=np.float64)), 0, 255)
    return ours.astype(np.float64) - rounded


def assert_within_one_level(ours: np.ndarray, theirs, label, fraction: float = 0.01) -> None:
    difference = np.abs(differences(ours, theirs))
    assert difference.max() <= 1, (label, difference.max())
    assert (difference > 0).mean() < fraction, (label, (difference > 0).mean())


# ------------------------------------------------------------------------------------------- groups
def test_listed_groups_hold_exactly_their_members_and_seen_unseen_do_not_change():
    assert D.list_corruptions(D.IMAGENET_C) == IMAGENET_C_19
    assert D.list_corruptions(D.WEATHER) == ["snow", "frost", "fog", "spatter"]
    assert D.list_corruptions(D.CAPTURE) == CAPTURE
    assert D.list_groups()[:6] == ["seen", "unseen", "all", "imagenet_c", "weather", "capture"]
    assert D.list_corruptions(D.SEEN) == ["gaussian_blur", "jpeg_compression", "low_resolution"]
    for name in ["glass_blur", "snow", "frost", "fog", "spatter", "saturate", *CAPTURE]:
        assert D.get_corruption(name).group is None  # in neither seen nor unseen
    assert set(D.list_corruptions("all")) == set(IMAGENET_C_19) | {"low_resolution", *CAPTURE}
    assert D.resolve_corruptions("weather,capture,fog") == [*D.list_corruptions("weather"), *CAPTURE]


def test_listed_groups_cannot_be_redefined_or_joined(clean_registry):
    with pytest.raises(D.RegistryError, match="built in and cannot be redefined"):
        D.register_group("weather", ["snow"])
    with pytest.raises(D.RegistryError, match="'capture' is a built-in fixed list"):
        D.register_corruption("smudge", group="capture")
    with pytest.raises(D.RegistryError, match="clashes with a group"):
        D.register_corruption("imagenet_c")
    D.register_group("outdoor", ["weather", "brightness"])  # a user group may contain a listed one
    assert D.list_corruptions("outdoor") == ["snow", "frost", "fog", "spatter", "brightness"]


def test_eval_conditions_and_training_corruptions_accept_the_new_groups():
    from roma import RomaConfig
    from roma.evaluation.conditions import resolve_conditions

    conditions = resolve_conditions("clean,weather,capture", [3])
    assert [c.name for c in conditions] == [
        "clean",
        *(f"{n}@3" for n in ["snow", "frost", "fog", "spatter", *CAPTURE]),
    ]
    assert {c.group for c in conditions[1:]} == {
        "other"
    }  # reports keep seen and unseen averages as they were
    imagenet_c = resolve_conditions(["imagenet_c"], [1, 5])
    assert len(imagenet_c) == 38 and imagenet_c[0].name == "gaussian_noise@1"
    config = RomaConfig(
        output_dir="unused", use_cpu=True, bf16=False, report_to="none", roma_corruptions="weather,capture"
    )
    assert config.roma_corruptions == ["weather", "capture"]
    assert D.DegradationSampler(config.roma_corruptions).corruptions == (
        *D.list_corruptions("weather"),
        *CAPTURE,
    )


def test_roma_eval_runs_the_new_groups_as_conditions(tiny_qwen3_vl_path, tmp_path):
    from roma.cli import main as roma_main
    from roma.evaluation.records import read_records

    out = tmp_path / "run"
    argv = [
        "eval", "--model", str(tiny_qwen3_vl_path), "--out", str(out), "--benchmarks", "synthetic",
        "--conditions", "clean,weather,capture", "--severities", "2", "--max_samples", "1",
        "--max_new_tokens", "2", "--cache_dir", str(tmp_path / "cache"), "--progress", "false",
        "--report", "false",
    ]  # fmt: skip
    assert roma_main(argv) == 0
    conditions = {record.condition for record in read_records(out / "records.jsonl")}
    assert conditions == {"clean", *(f"{n}@2" for n in ["snow", "frost", "fog", "spatter", *CAPTURE])}


def test_contact_sheet_shows_a_listed_group_with_its_rows(tmp_path, photos):
    from roma.degrade.sheet import contact_sheet, main

    source = tmp_path / "photo.png"
    Image.fromarray(photos[0]).save(source)
    assert (
        main([str(source), "--out", str(tmp_path / "capture.png"), "--group", "capture", "--tile", "96"]) == 0
    )
    sheet = Image.open(tmp_path / "capture.png")
    two_rows = contact_sheet(Image.fromarray(photos[0]), ["rotation", "resampling"], tile=96)
    one_row_height = (sheet.height - two_rows.height) / 2
    assert one_row_height > 96 and sheet.height == pytest.approx(two_rows.height + 2 * one_row_height)
    assert (
        main([str(source), "--out", str(tmp_path / "weather.png"), "--group", "weather", "--tile", "96"]) == 0
    )
    assert Image.open(tmp_path / "weather.png").height == sheet.height  # four rows each


# ---------------------------------------------------------------------------- ImageNet-C conformance
@pytest.fixture(scope="module")
def numba_glass_codes():
    """The offsets the reference's numba loop draws, as roma's offset codes (same seed, same order)."""
    numba = pytest.importorskip("numba")

    @numba.njit
    def draw(height, width, max_delta, iterations, seed):
        np.random.seed(seed)
        codes = np.zeros((iterations, height, width), np.int64)
        for i in range(iterations):
            for h in range(height - max_delta, max_delta, -1):
                for w in range(width - max_delta, max_delta, -1):
                    dx, dy = np.random.randint(-max_delta, max_delta, size=(2,))
                    codes[i, h, w] = (dy + max_delta) * 2 * max_delta + (dx + max_delta)
        return codes

    def codes(height, width, max_delta, iterations, seed):
        full = draw(height, width, max_delta, iterations, seed)
        return full[:, max_delta + 1 : height - max_delta + 1, max_delta + 1 : width - max_delta + 1]

    return codes


@pytest.mark.parametrize("severity", SEVERITIES)
def test_glass_blur_shuffle_is_the_reference_loop_bit_for_bit(severity, photos, numba_glass_codes):
    sigma, max_delta, iterations = D.get_corruption("glass_blur").severities[severity - 1]
    for seed, image in enumerate(photos):
        height, width = image.shape[:2]
        codes = numba_glass_codes(height, width, max_delta, iterations, seed)
        theirs = reference._shuffle_pixels_njit_glass_blur(
            height, width, image.copy(), (sigma, max_delta, iterations), seed
        )
        sources = F.glass_shuffle_sources(height, width, max_delta, codes)
        np.testing.assert_array_equal(image.reshape(-1, 3)[sources].reshape(image.shape), theirs)
        # the reference copies, it does not swap: values repeat, so a permutation would be wrong
        assert len(np.unique(sources)) < sources.size


@pytest.mark.parametrize("severity", SEVERITIES)
def test_glass_blur_matches_the_reference_up_to_its_truncated_intermediate(
    severity, photos, numba_glass_codes
):
    """The reference truncates the first blur to uint8; roma rounds it, so outputs are up to one level brighter
    (half a level on average) and never darker by more than float rounding."""
    sigma, max_delta, iterations = D.get_corruption("glass_blur").severities[severity - 1]
    for seed, image in enumerate(photos):
        codes = numba_glass_codes(*image.shape[:2], max_delta, iterations, seed)
        ours = F.glass_blur(image, sigma, max_delta, codes)
        difference = differences(ours, reference.glass_blur(Image.fromarray(image), severity, seed=seed))
        assert np.abs(difference).max() <= 1, severity
        assert 0.25 < difference.mean() < 0.75 and (difference < 0).mean() < 0.01, (
            severity,
            difference.mean(),
        )


@pytest.mark.parametrize("severity", SEVERITIES)
def test_saturate_matches_the_reference(severity, photos):
    for image in photos:
        theirs = reference.saturate(Image.fromarray(image), severity)
        # OpenCV's float32 HSV conversion moves a few values across a rounding boundary
        assert_within_one_level(D.corrupt(image, "saturate", severity), theirs, severity, fraction=0.05)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_fog_plasma_map_and_output_match_the_reference_draw_for_draw(severity, photos):
    amount, decay = D.get_corruption("fog").severities[severity - 1]
    for image in photos:
        height, width = image.shape[:2]
        np.random.seed(severity)
        theirs = reference.fog(Image.fromarray(image), severity)
        map_size = weather.fog_map_size(height, width)
        np.random.seed(severity)
        theirs_map = reference.plasma_fractal(map_size, decay)
        np.random.seed(severity)
        fractal = weather.plasma_fractal(
            np.random.random_sample(weather.plasma_fractal_draws(map_size)), map_size, decay
        )
        np.testing.assert_array_equal(fractal, theirs_map)
        assert_within_one_level(weather.fog(image, fractal, amount), theirs, severity)


@pytest.mark.parametrize("severity", SEVERITIES)
def test_frost_matches_the_reference_draw_for_draw(severity, photos):
    row = D.get_corruption("frost").severities[severity - 1]
    for image in photos:
        height, width = image.shape[:2]
        np.random.seed(severity)
        theirs = reference.frost(Image.fromarray(image), severity)
        np.random.seed(severity)  # the reference's draws: photo, then the crop's top and left
        index = np.random.randint(6)
        rows, columns = weather.frost_texture_shape(index, height, width)
        top, left = np.random.randint(0, rows - height), np.random.randint(0, columns - width)
        # 5 %: the photo is scaled by OpenCV's bicubic in integer arithmetic (the same on every CPU), where the
        # reference's cv2.resize runs vectorised code that rounds a few % of the scaled photo's values the other way.
        assert_within_one_level(weather.frost(image, index, top, left, *row), theirs, severity, fraction=0.05)


def test_bicubic_resize_is_opencvs_integer_arithmetic_worked_by_hand():
    # [0, 255] widened to 4: source positions -0.25, 0.25, 0.75, 1.25; weights at fraction 0.75 (a = -0.75) are
    # (-0.0352, 0.2617, 0.8789, -0.1055) x 2048 = (-72, 536, 1800, -216), at 0.25 the same reversed; borders
    # replicate. Sample 1: 255 x (536 - 72) x 2048 = 242,319,360, + 2^21, >> 22 = 58; sample 2: 255 x (1800 - 216)
    # -> 197; samples 0 and 3 fall below 0 and above 255 and are clipped.
    row = np.array([[0, 255]], np.uint8)
    np.testing.assert_array_equal(F.resize_bicubic(row, 4, 1), [[0, 58, 197, 255]])
    image = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        F.resize_bicubic(image, 7, 9), image
    )  # same size: every weight on one pixel
    flat = np.full((5, 6), 77, np.uint8)
    for width, height in ((13, 11), (3, 2)):
        np.testing.assert_array_equal(F.resize_bicubic(flat, width, height), np.full((height, width), 77))


def test_bicubic_resize_is_opencvs_inter_cubic_within_one_level():
    # cv2.resize's vectorised code rounds a few % of values the other way (and differs between an AVX2 and an
    # AVX-512 CPU at a few more: bench/cross_cpu.py); on the frost photos, as frost scales them: one level at most.
    for index in range(len(weather.FROST_TEXTURES)):
        photo = weather._frost_photo(index)
        rows, columns = weather.frost_texture_shape(index, 480, 1200)
        ours = F.resize_bicubic(photo, columns, rows)
        theirs = cv2.resize(photo, (columns, rows), interpolation=cv2.INTER_CUBIC)
        difference = np.abs(ours.astype(np.int16) - theirs)
        assert ours.shape == theirs.shape and difference.max() <= 1 and np.mean(difference > 0) < 0.1


@pytest.mark.parametrize("name", ["snow", "spatter"])
@pytest.mark.parametrize("severity", SEVERITIES)
def test_snow_and_spatter_match_the_reference_draw_for_draw(name, severity, photos):
    row = D.get_corruption(name).severities[severity - 1]
    for image in photos:
        np.random.seed(severity)
        theirs = getattr(reference, name)(Image.fromarray(image), severity)
        np.random.seed(
            severity
        )  # np.random.normal(loc, scale) is loc + scale · standard_normal, draw for draw
        noise = np.random.standard_normal(image.shape[:2])
        if name == "snow":  # then the flakes' angle
            ours = weather.snow(image, noise, np.random.uniform(-135, -45), (*row[:4], int(row[4]), *row[5:]))
        else:
            ours = weather.spatter(image, noise, row)
        assert_within_one_level(ours, theirs, (name, severity), fraction=0.02)


def test_random_imagenet_c_corruptions_draw_from_their_generator(photos):
    image = photos[1]
    for name in ("glass_blur", "snow", "frost", "fog", "spatter"):
        first, again = (D.corrupt(image, name, 3, D.rng_for("key", name, 7)) for _ in range(2))
        other = D.corrupt(image, name, 3, D.rng_for("key", name, 8))
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, other), name


def test_spatter_without_any_liquid_returns_the_image_instead_of_nan():
    image = np.full((20, 30, 3), 90, np.uint8)
    dry = np.full((20, 30), -10.0)  # every value far below the threshold
    np.testing.assert_array_equal(
        weather.spatter(image, dry, D.get_corruption("spatter").severities[0]), image
    )


def test_frost_without_its_photos_names_the_package_to_install(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "imagecorruptions" else real_find_spec(name, *a),
    )
    weather._frost_photo.cache_clear()
    weather.frost_texture.cache_clear()
    try:
        with pytest.raises(D.CorruptionResourceError, match=r"pip install imagecorruptions-imaug"):
            D.corrupt(np.zeros((8, 8, 3), np.uint8), "frost", 1)
    finally:
        weather._frost_photo.cache_clear()


# ------------------------------------------------------------------------------- capture distortions
@pytest.mark.parametrize("name", CAPTURE)
def test_capture_distortions_are_determined_by_their_key(name, photos):
    image = photos[1]
    views = [D.corrupt(image, name, 3, D.rng_for("sample", i)) for i in range(12)]
    np.testing.assert_array_equal(views[0], D.corrupt(image, name, 3, D.rng_for("sample", 0)))
    distinct = {view.tobytes() for view in views}
    # resampling draws nothing, rotation only its direction; the others draw corners or a shadow line per key
    assert len(distinct) == {"resampling": 1, "rotation": 2}.get(name, 12)
    sampler = D.DegradationSampler("capture", 3, seed=5)
    view, record = sampler.sample(image, "page-1", 0)
    np.testing.assert_array_equal(
        view, D.DegradationSampler("capture", 3, seed=5).sample(image, "page-1", 0)[0]
    )
    assert record.name in CAPTURE


def test_rotation_turns_by_the_table_angle_either_way(photos):
    image = photos[0]
    assert D.get_corruption("rotation").severities == (2, 4, 7, 11, 16)
    signs = set()
    for key in range(8):
        out = D.corrupt(image, "rotation", 3, key)
        matches = [np.array_equal(out, capture.rotation(image, angle)) for angle in (7, -7)]
        assert sum(matches) == 1, key
        signs.add(matches.index(True))
    assert signs == {0, 1}
    square = np.zeros((41, 41, 3), np.uint8)
    square[20, 30] = 255  # a point 10 px right of the centre goes 10 px up when turned 90° counter-clockwise
    assert np.unravel_index(capture.rotation(square, 90)[..., 0].argmax(), (41, 41)) == (10, 20)


def test_perspective_warp_moves_the_corners_it_is_given():
    image = np.zeros((50, 80, 3), np.uint8)
    image[0, 0] = image[-1, -1] = 255
    np.testing.assert_array_equal(capture.perspective_warp(image, np.zeros((4, 2))), image)
    # shifts in fractions of (width - 1, height - 1): top-left to (x 10, y 10), bottom-right to (x 59, y 44)
    shifts = np.array([[10 / 79, 10 / 49], [0, 0], [-20 / 79, -5 / 49], [0, 0]])
    out = capture.perspective_warp(image, shifts)[..., 0]
    assert out[10, 10] >= 250 and out[44, 59] >= 250
    assert out[20, 20] == 0 and out[30:40, 20:50].max() == 0


def test_uneven_illumination_darkens_one_side_by_its_depth():
    image = np.full((60, 60, 3), 200, np.uint8)
    # the shadow on the right
    out = capture.uneven_illumination(image, 0.5, angle=0.0, offset=0.0).astype(np.float64)
    np.testing.assert_allclose(out[:, 0], 200, atol=1)
    np.testing.assert_allclose(out[:, -1], 100, atol=1)
    assert np.all(np.diff(out[0, :, 0]) <= 0)
    light = [
        capture.uneven_illumination(image, depth, 1.0, 0.1).mean() for depth in (0.2, 0.35, 0.5, 0.65, 0.8)
    ]
    assert light == sorted(light, reverse=True)


def test_resampling_aliases_where_low_resolution_averages():
    """A 1-pixel checkerboard: the anti-aliased low_resolution (seen) turns it grey; resampling without
    anti-aliasing keeps strong structure, so the two corruptions are not the same training signal."""
    checker = ((np.indices((64, 64)).sum(axis=0) % 2) * 255).astype(np.uint8)
    checker = np.dstack([checker] * 3)
    assert F.low_resolution(checker, 2).std() < 5
    assert capture.resampling(checker, 1.5).std() > 40
    flat = np.full((33, 47, 3), (10, 200, 90), np.uint8)
    for factor in D.get_corruption("resampling").severities:
        np.testing.assert_array_equal(capture.resampling(flat, factor), flat)


def test_glass_blur_offset_draws_are_uniform_over_the_offset_square():
    from roma.degrade.corruptions import uniform_bytes_below

    rng = np.random.default_rng(0)
    for bound in (4, 16, 36, 64):  # max_delta 1, 2, 3, 4: 36 goes through rejection
        draws = uniform_bytes_below(rng, bound, (6, 100, 100 * bound // 4))
        assert draws.dtype == np.uint8 and draws.shape == (6, 100, 100 * bound // 4)
        counts = np.bincount(draws.ravel(), minlength=bound)
        assert len(counts) == bound and np.abs(counts / counts.mean() - 1).max() < 0.06, bound
