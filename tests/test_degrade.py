"""Tests of roma.degrade: the corruption registry, kernels, input conversion, sampler and contact sheet."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import roma.degrade as D
from roma.degrade import functional as F

REQUIRED_UNSEEN = {
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "motion_blur",
    "zoom_blur",
    "pixelate",
    "contrast",
    "brightness",
    "elastic_transform",
}
ALL_NAMES = D.list_corruptions()


# ------------------------------------------------------------------------------------------ fixtures
def _resize(image: np.ndarray, width: int) -> np.ndarray:
    height = round(image.shape[0] * width / image.shape[1])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """Five real photos, downscaled so the exhaustive grids stay fast."""
    from skimage import data
    from sklearn.datasets import load_sample_image

    raw = [
        data.astronaut(),
        data.coffee(),
        data.chelsea(),
        load_sample_image("china.jpg"),
        load_sample_image("flower.jpg"),
    ]
    return [_resize(image, 96) for image in raw]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


# ------------------------------------------------------------------------------------ registry/groups
def test_groups_are_the_documented_sets_and_disjoint():
    assert D.SEEN == "seen" and D.UNSEEN == "unseen"
    assert D.list_corruptions(D.SEEN) == ["gaussian_blur", "jpeg_compression", "low_resolution"]
    unseen = set(D.list_corruptions(D.UNSEEN))
    assert unseen >= REQUIRED_UNSEEN
    assert not unseen & set(D.list_corruptions(D.SEEN))
    # unseen is pinned exactly: every documented unseen figure averages over these 11
    assert set(D.list_corruptions(D.UNSEEN)) == REQUIRED_UNSEEN | {"speckle_noise"} and len(unseen) == 11
    listed = set(D.list_corruptions(D.IMAGENET_C)) | set(D.list_corruptions(D.CAPTURE))
    assert set(D.list_corruptions("all")) == unseen | set(D.list_corruptions(D.SEEN)) | listed


def test_resolve_corruptions_mixes_groups_and_names_deduplicated_in_order():
    assert D.resolve_corruptions(["motion_blur", "seen", "gaussian_blur"]) == [
        "motion_blur",
        "gaussian_blur",
        "jpeg_compression",
        "low_resolution",
    ]
    assert D.resolve_corruptions("contrast, seen") == ["contrast", *D.list_corruptions("seen")]
    assert D.resolve_corruptions("all") == ALL_NAMES


def test_unknown_names_list_the_known_ones_and_suggest_the_closest():
    with pytest.raises(
        D.UnknownCorruptionError, match=r"unknown corruption 'gausian_blur'\. Did you mean 'gaussian_blur'\?"
    ) as info:
        D.corrupt(np.zeros((8, 8, 3), np.uint8), "gausian_blur", 1)
    assert "jpeg_compression" in str(info.value) and "low_resolution" in str(info.value)
    with pytest.raises(D.UnknownCorruptionError, match="Did you mean 'unseen'"):
        D.resolve_corruptions(["unsen"])
    with pytest.raises(D.UnknownCorruptionError, match="unknown group 'nope'"):
        D.list_corruptions("nope")
    assert isinstance(D.UnknownCorruptionError("x"), ValueError)


def test_user_corruption_and_group_registration(clean_registry):
    @D.register_corruption("invert", group="photometric")
    def invert(image, severity, rng):
        return 255 - image

    D.register_group("my_eval", ["invert", "seen"])
    assert "invert" in D.list_corruptions("all") and "invert" not in D.list_corruptions("unseen")
    assert D.list_corruptions("photometric") == ["invert"]
    assert D.resolve_corruptions("my_eval") == ["invert", *D.list_corruptions("seen")]
    image = np.full((4, 5, 3), 10, np.uint8)
    assert (D.corrupt(image, "invert", 2) == 245).all()
    # integer-only by default: a fractional severity is refused, naming the corruption
    with pytest.raises(D.SeverityError, match="'invert' only has integer severities"):
        D.corrupt(image, "invert", 2.5)
    with pytest.raises(D.RegistryError, match="already registered"):
        D.register_corruption("invert")(invert)
    with pytest.raises(D.RegistryError, match="built in"):
        D.register_group("seen", ["invert"])
    with pytest.raises(D.RegistryError, match="clashes with a group"):
        D.register_corruption("my_eval")
    with pytest.raises(D.RegistryError, match="clashes with a corruption"):
        D.register_group("invert", ["seen"])
    with pytest.raises(D.RegistryError, match="name must be"):
        D.register_corruption("bad name, with comma")


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        (
            lambda image: image[:-1],
            r"'shrinks' changed the image from shape \(6, 5, 3\) dtype uint8 to shape \(5, 5, 3\)",
        ),
        (lambda image: image.astype(np.float32), "'shrinks' changed the image .* dtype float32"),
        (lambda image: Image.fromarray(image), "'shrinks' returned Image, expected a numpy.ndarray"),
    ],
)
def test_user_corruption_breaking_the_contract_is_named(clean_registry, returned, message):
    D.register_corruption("shrinks")(lambda image, severity, rng: returned(image))
    with pytest.raises(D.CorruptionContractError, match=message):
        D.corrupt(np.zeros((6, 5, 3), np.uint8), "shrinks", 1)


def test_user_corruption_gets_a_read_only_input_and_cannot_alias_the_output(clean_registry):
    @D.register_corruption("in_place")
    def in_place(image, severity, rng):
        image[0, 0] = 0
        return image

    @D.register_corruption("identity")
    def identity(image, severity, rng):
        return image

    source = np.full((3, 3, 3), 7, np.uint8)
    with pytest.raises(ValueError, match="read-only"):
        D.corrupt(source, "in_place", 1)
    out = D.corrupt(source, "identity", 1)
    out[0, 0] = 1  # the caller may edit the result without touching its input
    assert (source == 7).all()


# ------------------------------------------------------------------------------------ kernel values
def test_gaussian_blur_keeps_constants_and_spreads_an_impulse_with_the_imagenet_c_sigma():
    flat = np.full((9, 11, 3), 77, np.uint8)
    assert (D.corrupt(flat, "gaussian_blur", 5) == 77).all()
    impulse = np.zeros((41, 41, 3), np.uint8)
    impulse[20, 20] = 255
    out = F.gaussian_blur(impulse, 2.0)[..., 0].astype(np.float64)
    weights = np.exp(-(np.arange(-4, 5) ** 2) / 8.0)
    weights /= np.exp(-(np.arange(-8, 9) ** 2) / 8.0).sum()  # radius int(4·2 + 0.5) = 8
    np.testing.assert_allclose(out[20, 16:25], 255 * weights[4] * weights, atol=0.51)


def test_brightness_scales_rgb_by_the_value_gain_and_lifts_black_to_grey():
    pixels = np.array([[[100, 50, 0], [0, 0, 0], [250, 250, 250]]], np.uint8)
    out = F.brightness(pixels, 0.2)
    gain = (100 / 255 + 0.2) / (100 / 255)  # hue and saturation kept: every channel scales with V
    np.testing.assert_array_equal(out[0, 0], np.rint(np.array([100, 50, 0]) * gain).astype(np.uint8))
    np.testing.assert_array_equal(out[0, 1], [51, 51, 51])  # round(0.2 · 255)
    np.testing.assert_array_equal(out[0, 2], [255, 255, 255])  # V clipped at 1


def test_contrast_shrinks_deviation_from_each_channel_mean():
    pixels = np.array([[[0, 100, 200], [200, 100, 0]]], np.uint8)  # channel means 100, 100, 100
    np.testing.assert_array_equal(F.contrast(pixels, 0.5), [[[50, 100, 150], [150, 100, 50]]])


def test_impulse_noise_uses_half_the_amount_for_pepper_and_half_for_salt():
    image = np.full((1, 4, 3), 128, np.uint8)
    uniform = np.array([[[0.01, 0.04, 0.07]] * 4], np.float32)
    out = F.impulse_noise(image, uniform, amount=0.06)
    np.testing.assert_array_equal(out[0, 0], [0, 255, 128])


def test_poisson_counts_are_the_exact_inverse_cdf():
    lam = 128 / 255 * 12  # level 128 at 12 photons
    pmf = np.exp(-lam) * np.cumprod([1.0] + [lam / k for k in range(1, 40)])
    cdf = np.cumsum(pmf)
    # draws just below / at each CDF step map to that step's count
    uniform = np.array([cdf[0] - 1e-9, cdf[0] + 1e-9, cdf[5] - 1e-9, cdf[5] + 1e-9, 0.0, 1 - 1e-12])
    counts = F.poisson_counts(np.full(uniform.shape, 128, np.uint8), uniform, 12)
    np.testing.assert_array_equal(counts[:4], [0, 1, 5, 6])
    assert counts[4] == 0 and counts[5] > 15
    draws = F.poisson_counts(np.full(200_000, 128, np.uint8), np.random.default_rng(0).random(200_000), 12)
    frequencies = np.bincount(draws, minlength=40)[:40] / draws.size
    np.testing.assert_allclose(frequencies[:15], pmf[:15], atol=0.004)
    assert np.all(F.poisson_counts(np.zeros(10, np.uint8), np.random.default_rng(1).random(10), 60) == 0)


def test_low_resolution_keeps_flat_images_flat_and_jpeg_equals_pil(photos):
    flat = np.full((33, 47, 3), (200, 30, 90), np.uint8)
    np.testing.assert_array_equal(D.corrupt(flat, "low_resolution", 5), flat)
    for severity, quality in enumerate((25, 18, 15, 10, 7), start=1):
        buffer = io.BytesIO()
        Image.fromarray(photos[1]).save(buffer, "JPEG", quality=quality)  # what ImageNet-C does
        np.testing.assert_array_equal(
            D.corrupt(photos[1], "jpeg_compression", severity), np.asarray(Image.open(buffer))
        )


def test_fractional_severity_interpolates_between_rows():
    assert D.get_corruption("gaussian_blur").severities[2] == 3
    assert D.get_corruption("gaussian_blur").parameters(4.5) == pytest.approx(5.0)
    assert D.get_corruption("motion_blur").parameters(1.5) == pytest.approx((12.5, 4.0))
    assert D.get_corruption("jpeg_compression").parameters(3) == 15


def test_a_corruption_registered_with_a_table_receives_its_rows(clean_registry):
    received = []

    @D.register_corruption("test_tabled", severities=((1, 10), (2, 20), (3, 30), (4, 40), (5, 50)))
    def tabled(image, row, rng):
        received.append(row)
        return image.copy()

    image = np.zeros((4, 4, 3), np.uint8)
    D.corrupt(image, "test_tabled", 2)
    D.corrupt(image, "test_tabled", 2.5)  # a table makes the corruption continuous by default
    assert received == [(2, 20), pytest.approx((2.5, 25.0))]
    assert D.get_corruption("test_tabled").continuous


@pytest.mark.parametrize(
    "table, problem",
    [
        ((1, 2, 3), "must be 5 rows"),
        ((1, 2, 3, 4, (5, 6)), "equal-length tuples"),
        ("12345", "must be 5 rows"),
    ],
)
def test_a_malformed_severity_table_is_refused_at_registration(table, problem, clean_registry):
    with pytest.raises(D.RegistryError, match=problem):
        D.register_corruption("test_bad_table", severities=table)
    assert "test_bad_table" not in D.list_corruptions()


def test_matches_the_imagecorruptions_reference_within_one_grey_level(photos):
    """Deterministic corruptions against imagecorruptions-imaug, rounded instead of truncated."""
    imagecorruptions = pytest.importorskip("imagecorruptions.corruptions")
    image = photos[0]
    for name in (
        "gaussian_blur",
        "jpeg_compression",
        "defocus_blur",
        "zoom_blur",
        "pixelate",
        "contrast",
        "brightness",
    ):
        for severity in (1, 3, 5):
            reference = getattr(imagecorruptions, name)(Image.fromarray(image), severity)
            reference = np.clip(np.rint(np.asarray(reference, dtype=np.float64)), 0, 255)
            difference = np.abs(D.corrupt(image, name, severity).astype(np.float64) - reference)
            assert difference.max() <= 1, (name, severity)
            # zoom blur samples at OpenCV's 1/32-pixel grid instead of exact coordinates; brightness
            # 1 and 3 add 25.5 and 76.5 levels, so whole regions sit on rounding ties
            loose = name in ("zoom_blur", "brightness")
            assert (difference > 0).mean() < (0.1 if loose else 0.01), (name, severity)


def test_noise_strength_matches_the_reference_statistics(photos):
    """Random corruptions: same noise law, so the same mean squared change up to sampling error.

    Both sides are seeded, so the verdict is fixed. imagecorruptions draws from NumPy's global state, except
    impulse noise, which goes through ``skimage.util.random_noise`` with its own generator: fresh OS entropy
    unless the function's ``seed`` is given. Unseeded, the 4 % tolerance failed by chance on a fresh machine."""
    imagecorruptions = pytest.importorskip("imagecorruptions.corruptions")
    from skimage import data

    image = _resize(data.coffee(), 320)
    for name in ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"):
        for severity in (1, 5):
            np.random.seed(0)
            seeded = {"seed": 0} if name == "impulse_noise" else {}
            reference = np.asarray(
                getattr(imagecorruptions, name)(Image.fromarray(image), severity, **seeded)
            )
            ours = D.corrupt(image, name, severity, D.rng_for("noise", name, severity))
            mse_ref = np.mean((np.rint(reference) - image) ** 2)
            mse_ours = np.mean((ours.astype(np.float64) - image) ** 2)
            assert mse_ours == pytest.approx(mse_ref, rel=0.04), (name, severity)


# ------------------------------------------------------------------------ every corruption × severity
INPUT_KINDS = [
    "uint8_rgb",
    "float32_rgb",
    "float64_grey",
    "uint8_hw1",
    "uint8_rgba",
    "pil_rgb",
    "pil_l",
    "pil_rgba",
]


def _as_kind(rgb: np.ndarray, kind: str):
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    alpha = np.full(rgb.shape[:2], 200, np.uint8)
    return {
        "uint8_rgb": lambda: rgb.copy(),
        "float32_rgb": lambda: rgb.astype(np.float32) / 255,
        "float64_grey": lambda: grey.astype(np.float64) / 255,
        "uint8_hw1": lambda: grey[..., None].copy(),
        "uint8_rgba": lambda: np.dstack([rgb, alpha]),
        "pil_rgb": lambda: Image.fromarray(rgb),
        "pil_l": lambda: Image.fromarray(grey),
        "pil_rgba": lambda: Image.fromarray(np.dstack([rgb, alpha])),
    }[kind]()


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_severity_and_input_kind_keeps_type_shape_and_dtype(name, photos):
    rgb = photos[2][:40, :56]
    for kind in INPUT_KINDS:
        image = _as_kind(rgb, kind)
        for severity in (1, 2, 3, 4, 5):
            out = D.corrupt(image, name, severity, D.rng_for(name, kind, severity))
            if isinstance(image, Image.Image):
                assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == image.size
            else:
                assert isinstance(out, np.ndarray) and out.shape == image.shape and out.dtype == image.dtype
                if kind == "uint8_rgba":
                    np.testing.assert_array_equal(out[..., 3], image[..., 3])  # alpha passes through
                if out.dtype.kind == "f":
                    assert out.min() >= 0 and out.max() <= 1
    changed = D.corrupt(rgb, name, 1, 0)
    assert (changed != rgb).any(), f"{name} at severity 1 left the image unchanged"


@pytest.mark.parametrize("name", ALL_NAMES)
def test_severity_is_monotone_in_mean_psnr_on_real_photos(name, photos):
    mean_psnr = [
        np.mean(
            [
                psnr(photo, D.corrupt(photo, name, severity, D.rng_for("psnr", name, i)))
                for i, photo in enumerate(photos)
            ]
        )
        for severity in (1, 2, 3, 4, 5)
    ]
    if name in PSNR_NOT_MONOTONE_BY_TABLE:
        assert mean_psnr[4] < min(mean_psnr[:2]) and mean_psnr[0] > max(mean_psnr[3:]), (name, mean_psnr)
        return
    assert all(later <= earlier + 1e-9 for earlier, later in zip(mean_psnr, mean_psnr[1:])), (name, mean_psnr)


# ImageNet-C tables whose levels are not ordered by PSNR (kept: they are the reference's), checked only for
# severities 4-5 lying below 1-2: glass blur's level 2 runs one shuffle pass where 1 runs two (and 4 two where
# 3 runs three); saturate's levels 1-2 wash colours out and 3-5 oversaturate; frost and fog lower the image
# weight or the haze's detail from 3 to 4, which clips less and scores a slightly higher PSNR on these photos.
PSNR_NOT_MONOTONE_BY_TABLE = {"glass_blur", "saturate", "frost", "fog"}


@pytest.mark.parametrize("shape", [(1, 1), (7, 7), (1, 500), (500, 1), (2, 3)])
def test_tiny_images_work_for_every_corruption(shape):
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    for name in ALL_NAMES:
        for severity in (1, 5):
            out = D.corrupt(image, name, severity, 0)
            assert out.shape == image.shape and out.dtype == np.uint8, (name, shape)


def test_fractional_severities_lie_between_their_neighbours(photos):
    image = photos[3]
    # (not low_resolution: OpenCV's integer-factor fast path is phase-shifted, see functional.low_resolution)
    for name in ("gaussian_blur", "jpeg_compression", "contrast", "defocus_blur", "elastic_transform"):
        low, mid, high = (psnr(image, D.corrupt(image, name, s, 0)) for s in (2, 2.5, 3))
        assert high <= mid <= low, (name, low, mid, high)


# ------------------------------------------------------------------------------------------ inputs
def _pil_in_mode(mode: str) -> Image.Image:
    rgb = Image.fromarray(np.random.default_rng(1).integers(0, 256, (12, 17, 3), dtype=np.uint8))
    if mode == "I;16":
        image = Image.fromarray(np.random.default_rng(2).integers(0, 65536, (12, 17), dtype=np.uint16))
        assert image.mode == "I;16"
        return image
    if mode == "P_transparent":
        image = rgb.convert("P")
        image.info["transparency"] = 0
        return image
    return rgb.convert(mode)


@pytest.mark.parametrize(
    "mode", ["RGB", "RGBA", "L", "LA", "P", "P_transparent", "CMYK", "I;16", "I", "1", "F", "YCbCr"]
)
def test_pil_modes_come_back_as_rgb_of_the_same_size(mode):
    image = _pil_in_mode(mode)
    out = D.corrupt(image, "jpeg_compression", 3)
    assert out.mode == "RGB" and out.size == image.size


def test_transparent_pixels_are_composited_over_white_and_16_bit_is_scaled():
    from roma.degrade.convert import to_rgb_uint8

    rgba = Image.fromarray(np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [200, 100, 0, 128]]], np.uint8), "RGBA")
    rgb, _ = to_rgb_uint8(rgba)
    np.testing.assert_array_equal(rgb[0], [[255, 255, 255], [0, 0, 0], [227, 177, 127]])
    sixteen = Image.fromarray(np.array([[0, 257, 65535]], np.uint16))
    np.testing.assert_array_equal(to_rgb_uint8(sixteen)[0][0, :, 0], [0, 1, 255])


def test_exif_orientation_is_applied_before_corrupting():
    image = Image.fromarray(np.zeros((10, 30, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    rotated = Image.open(buffer)
    assert rotated.size == (30, 10)
    assert D.corrupt(rotated, "gaussian_blur", 1).size == (10, 30)


def test_float_and_grey_round_trips_are_exact_for_an_identity(clean_registry):
    D.register_corruption("keep")(lambda image, severity, rng: image.copy())
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(D.corrupt(grey, "keep", 1), grey)
    levels = np.arange(256, dtype=np.float32).reshape(16, 16, 1) / 255
    np.testing.assert_array_equal(D.corrupt(levels, "keep", 1), levels)


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (np.zeros((0, 5, 3), np.uint8), D.InvalidImageError, r"empty image: array of shape \(0, 5, 3\)"),
        (np.zeros((5, 0), np.uint8), D.InvalidImageError, "empty image"),
        (Image.new("RGB", (0, 4)), D.InvalidImageError, r"empty image: PIL image \(mode RGB\) has zero size"),
        (
            [[1, 2], [3, 4]],
            D.NotAnImageError,
            "expected a PIL.Image.Image or a numpy.ndarray image, got builtins.list",
        ),
        ("cat.png", D.NotAnImageError, "got builtins.str"),
        (np.zeros((4, 4, 3), np.uint16), D.InvalidImageError, "dtype uint16: use uint8"),
        (np.zeros((4, 4, 3), bool), D.InvalidImageError, "dtype bool"),
        (np.zeros((3, 32, 32), np.uint8), D.InvalidImageError, r"looks channel-first \(C×H×W\)"),
        (np.zeros((5, 5, 5), np.uint8), D.InvalidImageError, "expected H×W, H×W×1, H×W×3 or H×W×4"),
        (np.zeros((2, 4, 4, 3), np.uint8), D.InvalidImageError, "expected H×W"),
        (
            np.full((4, 4, 3), 200.0),
            D.InvalidImageError,
            r"values in \[0, 1\], found \[200, 200\] \(looks like 0..255",
        ),
        (np.full((4, 4), np.nan, np.float32), D.InvalidImageError, "NaN or infinite"),
    ],
)
def test_bad_images_raise_clear_errors(image, error, message):
    with pytest.raises(error, match=message):
        D.corrupt(image, "gaussian_blur", 1)


def test_not_an_image_is_both_a_type_error_and_a_degradation_error():
    with pytest.raises(TypeError):
        D.corrupt(3.5, "gaussian_blur", 1)
    with pytest.raises(ValueError):
        D.corrupt(3.5, "gaussian_blur", 1)


@pytest.mark.parametrize(
    ("severity", "message"),
    [
        (0, r"must be in \[1, 5\], got 0"),
        (6, r"must be in \[1, 5\], got 6"),
        (5.0001, "got 5.0001"),
        (float("nan"), "got nan"),
        ("3", "must be a number in \\[1, 5\\], got str: '3'"),
        (True, "got bool"),
        (None, "got NoneType"),
    ],
)
def test_bad_severities_raise_clear_errors(severity, message):
    with pytest.raises(D.SeverityError, match=message):
        D.corrupt(np.zeros((4, 4, 3), np.uint8), "gaussian_blur", severity)


def test_bad_rng_is_refused_and_the_legacy_random_state_named():
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(D.DegradationError, match="legacy RandomState"):
        D.corrupt(image, "gaussian_noise", 1, np.random.RandomState(0))
    with pytest.raises(D.DegradationError, match="non-negative int seed"):
        D.corrupt(image, "gaussian_noise", 1, -1)


# ---------------------------------------------------------------------------------- purity, sampler
def test_corrupt_is_pure_and_does_not_touch_its_input(photos):
    image = photos[0].copy()
    before = image.copy()
    for name in ALL_NAMES:
        first = D.corrupt(image, name, 3, 123)
        second = D.corrupt(image, name, 3, np.random.default_rng(123))
        np.testing.assert_array_equal(first, second, err_msg=name)
    np.testing.assert_array_equal(image, before)
    pil_out = np.asarray(D.corrupt(Image.fromarray(image), "gaussian_noise", 2, 5))
    np.testing.assert_array_equal(pil_out, D.corrupt(image, "gaussian_noise", 2, 5))


def test_the_global_numpy_rng_is_never_touched(photos):
    np.random.seed(1234)
    state = np.random.get_state()
    for name in ALL_NAMES:
        D.corrupt(photos[4], name, 5, 0)
    D.DegradationSampler("all").sample(photos[4], 0, 0)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


def test_rng_for_keys_by_value_and_is_stable():
    def draw(*key):
        return D.rng_for(*key).integers(0, 2**62, 4).tolist()

    assert draw(0, "x", 3) == draw(np.int64(0), "x", 3.0) == draw(0, np.str_("x"), np.int32(3))
    assert draw(0, "x", 3) != draw(0, "x", 4) != draw(0, "3", 4)
    assert draw(1, "a") != draw((1, "a"))
    with pytest.raises(D.DegradationError, match="rng_for key parts must be"):
        D.rng_for(object())


def test_sampler_params_match_sample_and_ignore_call_order(photos):
    sampler = D.DegradationSampler("seen", (1, 5), seed=7)
    image = photos[0]
    forward = [sampler.sample(image, sid, view) for sid in range(6) for view in range(2)]
    backward = [
        sampler.sample(image, sid, view) for sid in reversed(range(6)) for view in reversed(range(2))
    ][::-1]
    for (view_a, record_a), (view_b, record_b) in zip(forward, backward):
        assert record_a == record_b
        np.testing.assert_array_equal(view_a, view_b)
    for sid in range(6):
        for view in range(2):
            assert sampler.sample_params(sid, view) == forward[sid * 2 + view][1]
    import pickle

    clone = pickle.loads(pickle.dumps(sampler))  # DataLoader workers get a copy
    assert clone.sample_params(4, 1) == sampler.sample_params(4, 1)
    pair, record = sampler.sample([image, photos[1]], 3, 1)  # a multi-image sample: one corruption, in order
    assert record == forward[7][1]
    np.testing.assert_array_equal(pair[0], forward[7][0])
    rng = sampler.rng(3, 1)
    sampler._draw(rng)
    first = D.corrupt(image, record.name, record.severity, rng)
    np.testing.assert_array_equal(pair[1], D.corrupt(photos[1], record.name, record.severity, rng))
    np.testing.assert_array_equal(first, pair[0])
    assert isinstance(forward[0][1].severity, float)


def test_sampler_distribution_covers_names_and_severity_specs():
    records = [D.DegradationSampler("seen", (1, 5), seed=0).sample_params(i, 0) for i in range(300)]
    assert {r.name for r in records} == set(D.list_corruptions("seen"))
    assert {r.severity for r in records} == {1.0, 2.0, 3.0, 4.0, 5.0}
    listed = {
        D.DegradationSampler("all", [2, 4], seed=0).sample_params(f"id-{i}", 1).severity for i in range(100)
    }
    assert listed == {2.0, 4.0}
    real = [D.DegradationSampler("seen", (1.5, 2.5), seed=0).sample_params(i, 0).severity for i in range(100)]
    assert all(1.5 <= s <= 2.5 for s in real) and len(set(real)) > 50
    assert D.DegradationSampler("unseen", 3).sample_params(0, 0).severity == 3.0
    distinct_views = {D.DegradationSampler("seen", (1, 5), seed=0).sample_params(5, v) for v in range(20)}
    assert len(distinct_views) > 5


def test_sampler_refuses_bad_configuration(clean_registry):
    with pytest.raises(D.SeverityError, match=r"got 0"):
        D.DegradationSampler("seen", (0, 5))
    with pytest.raises(D.SeverityError, match="lo <= hi"):
        D.DegradationSampler("seen", (4, 2))
    with pytest.raises(D.SeverityError, match="non-empty list"):
        D.DegradationSampler("seen", [])
    with pytest.raises(D.UnknownCorruptionError, match="Did you mean 'seen'"):
        D.DegradationSampler("sean")
    D.register_corruption("stepwise")(lambda image, severity, rng: image.copy())
    with pytest.raises(D.SeverityError, match="'stepwise' only has integer levels"):
        D.DegradationSampler(["stepwise"], (1.0, 5.0))
    sampler = D.DegradationSampler("seen")
    with pytest.raises(D.DegradationError, match="sample_id must be an int or a str"):
        sampler.sample_params(1.5, 0)
    with pytest.raises(D.DegradationError, match="view_index must be a non-negative int"):
        sampler.sample_params(1, -1)


def test_views_are_identical_across_processes(photos):
    """Same (seed, sample_id, view_index, image) -> same bytes in a fresh interpreter (hash salt differs)."""
    script = textwrap.dedent(
        """
        import hashlib, sys, numpy as np, cv2
        from skimage import data
        import roma.degrade as D
        image = cv2.resize(data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)
        sampler = D.DegradationSampler("all", (1, 5), seed=11)
        digest = hashlib.sha256()
        for sid in (0, 1, "img-42"):
            for view in (0, 1):
                out, record = sampler.sample(image, sid, view)
                digest.update(repr(record).encode()); digest.update(out.tobytes())
        print(digest.hexdigest())
        """
    )
    import hashlib

    from skimage import data

    image = cv2.resize(data.astronaut(), (64, 64), interpolation=cv2.INTER_AREA)
    sampler = D.DegradationSampler("all", (1, 5), seed=11)
    digest = hashlib.sha256()
    views = {}
    for sid in (0, 1, "img-42"):
        for view in (0, 1):
            out, record = sampler.sample(image, sid, view)
            views[sid, view] = out
            digest.update(repr(record).encode())
            digest.update(out.tobytes())
    child = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "random", **_env()},
    )
    assert child.stdout.strip() == digest.hexdigest()
    assert not np.array_equal(views[0, 0], views[0, 1])


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}


# -------------------------------------------------------------------------------------- properties
_MODES = [
    "RGB",
    "RGBA",
    "L",
    "LA",
    "P",
    "CMYK",
    "1",
    "I;16",
    "array_u8",
    "array_f32",
    "array_grey",
    "array_rgba",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    mode=st.sampled_from(_MODES),
    name=st.sampled_from(ALL_NAMES),
    severity=st.floats(1.0, 5.0, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_any_size_mode_and_severity_keeps_size_and_kind(height, width, mode, name, severity, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8)
    if mode.startswith("array"):
        image = {
            "array_u8": pixels[..., :3],
            "array_f32": pixels[..., :3].astype(np.float32) / 255,
            "array_grey": pixels[..., 0],
            "array_rgba": pixels,
        }[mode]
    elif mode == "I;16":
        image = Image.fromarray(pixels[..., :2].copy().view(np.uint16)[..., 0])
    else:
        image = Image.fromarray(pixels, "RGBA").convert(mode)
    out = D.corrupt(image, name, severity, seed)
    if isinstance(image, Image.Image):
        assert out.mode == "RGB" and out.size == image.size
    else:
        assert out.shape == image.shape and out.dtype == image.dtype
    # pure: the same call gives the same bytes
    again = D.corrupt(image, name, severity, seed)
    assert np.array_equal(np.asarray(out), np.asarray(again))


# ----------------------------------------------------------------------------------- contact sheet
def test_contact_sheet_cli_writes_a_png_of_the_expected_size(tmp_path, photos):
    from roma.cli import main as roma_main
    from roma.degrade.sheet import contact_sheet

    source = tmp_path / "photo.png"
    Image.fromarray(photos[0]).save(source)  # 96 × 96
    out = tmp_path / "sheets" / "seen.png"
    assert (
        roma_main(
            [
                "degrade",
                str(source),
                "--out",
                str(out),
                "--group",
                "seen",
                "--severities",
                "1,3,5",
                "--tile",
                "96",
            ]
        )
        == 0
    )
    sheet = Image.open(out)
    assert sheet.format == "PNG"
    expected = contact_sheet(Image.fromarray(photos[0]), "seen", [1, 3, 5], seed=0, tile=96)
    assert sheet.size == expected.size
    width, height = sheet.size
    assert width > 4 * 96 and height > 3 * 96  # label column + 4 tiles; header + 3 rows
    np.testing.assert_array_equal(np.asarray(sheet), np.asarray(expected))


def test_contact_sheet_cli_reports_bad_input(tmp_path, capsys):
    from roma.degrade.sheet import main

    assert main([str(tmp_path / "missing.png"), "--out", str(tmp_path / "x.png")]) == 2
    assert "no such image file" in capsys.readouterr().err
    image = tmp_path / "img.png"
    Image.new("RGB", (20, 20)).save(image)
    assert main([str(image), "--out", str(tmp_path / "x.png"), "--group", "blurr"]) == 2
    assert "unknown corruption or group 'blurr'" in capsys.readouterr().err


def test_pixelate_upsamples_exactly_as_pil_nearest():
    rng = np.random.default_rng(0)
    for height in range(1, 60, 3):
        for width in range(1, 80, 7):
            image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            for scale in D.get_corruption("pixelate").severities:
                small = (max(1, int(width * scale)), max(1, int(height * scale)))
                pil = Image.fromarray(image).resize(small, Image.Resampling.BOX)
                expected = np.asarray(pil.resize((width, height), Image.Resampling.NEAREST))
                np.testing.assert_array_equal(F.pixelate(image, scale), expected, err_msg=f"{height}x{width}")
