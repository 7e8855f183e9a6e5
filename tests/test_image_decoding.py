"""One image decoder: training rows, benchmark samples and corruptions read a file to the same pixels.

Each file below is in a PIL mode that decoders disagree on (alpha, palettes with transparency, 16-bit and
32-bit integers, floats, CMYK, YCbCr, EXIF orientation). The three paths read the same files: a training
dataset (`roma.data.loading`, decoded by its ``datasets`` image feature as the trainer sees it), a benchmark
(`roma.evaluation`, LogicVista's JSON-with-image-paths layout) and `roma.degrade.convert.to_rgb_uint8`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SIZE = (6, 4)  # width, height


def _exif_rotated_jpeg() -> tuple[Image.Image, dict]:
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated by 90°: the upright image is 4 wide, 6 high
    pixels = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    pixels[0] = 255  # a white top row becomes a white column after rotation
    return Image.fromarray(pixels, "RGB"), {"exif": exif.tobytes(), "quality": 100}


def _palette_with_transparency() -> tuple[Image.Image, dict]:
    image = Image.new("P", SIZE, 1)
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    image.paste(0, (0, 0, 3, 4))  # left half: palette entry 0, the transparent one
    return image, {"transparency": 0}


# mode -> (file name, the image and its save options, the expected RGB of pixel (0, 0) or None: not fixed here)
CASES = {
    "1": ("bilevel.png", (Image.new("1", SIZE, 1), {}), (255, 255, 255)),
    "L": ("grey.png", (Image.new("L", SIZE, 77), {}), (77, 77, 77)),
    "LA": ("grey_alpha.png", (Image.new("LA", SIZE, (77, 128)), {}), (166, 166, 166)),
    "P": ("palette.png", (Image.new("P", SIZE, 3), {}), None),
    "P_transparency": ("palette_transparent.png", _palette_with_transparency(), (255, 255, 255)),
    "PA": ("palette_alpha.tiff", (Image.new("PA", SIZE, (3, 0)), {}), (255, 255, 255)),
    "RGBA": ("rgba.png", (Image.new("RGBA", SIZE, (200, 100, 0, 128)), {}), (227, 177, 127)),
    "CMYK": ("cmyk.tiff", (Image.new("CMYK", SIZE, (10, 20, 30, 40)), {}), None),
    "YCbCr": ("ycbcr.tiff", (Image.new("YCbCr", SIZE, (100, 120, 140)), {}), None),
    "I": ("int32.tiff", (Image.new("I", SIZE, 40000), {}), (156, 156, 156)),
    "I;16": ("int16.png", (Image.fromarray(np.full(SIZE[::-1], 40000, np.uint16)), {}), (156, 156, 156)),
    "I;16B": ("int16_big_endian.tiff", (Image.new("I;16B", SIZE, 40000), {}), (156, 156, 156)),
    "F": ("float.tiff", (Image.new("F", SIZE, 77.6), {}), (78, 78, 78)),
    "RGB_exif": ("rotated.jpg", _exif_rotated_jpeg(), None),
}


@pytest.fixture(scope="module")
def decoded(tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    """Per case: the pixels from training rows, from a benchmark sample and from roma.degrade."""
    from roma.data.loading import load_training_dataset
    from roma.degrade.convert import to_rgb_uint8
    from roma.evaluation.benchmarks import get_benchmark

    root = tmp_path_factory.mktemp("modes")
    folder = root / "logicvista"
    (folder / "images").mkdir(parents=True)
    rows = []
    for case, (file_name, (image, options), _) in CASES.items():
        image.save(folder / "images" / file_name, **options)
        rows.append({"id": case, "question": "Which?", "answer": "A", "image": f"images/{file_name}"})
    data_file = folder / "data.json"
    data_file.write_text(json.dumps(rows))

    training = load_training_dataset(str(data_file))
    benchmark = get_benchmark("logicvista", data_dir=root).load()
    out: dict[str, dict[str, np.ndarray]] = {}
    for row, sample in zip(training, benchmark):
        assert row["id"] == sample.sample_id
        with Image.open(folder / "images" / CASES[row["id"]][0]) as opened:
            degrade = to_rgb_uint8(opened)[0]
        out[row["id"]] = {
            "training": np.asarray(row["image"]),
            "evaluation": np.asarray(benchmark.load_images(sample)[0]),
            "degrade": np.asarray(degrade),
        }
    return out


def test_every_case_is_saved_in_the_mode_it_tests(tmp_path):
    for case, (file_name, (image, options), _) in CASES.items():
        image.save(tmp_path / file_name, **options)
        with Image.open(tmp_path / file_name) as opened:
            assert opened.mode == case.split("_")[0] if case != "RGB_exif" else opened.mode == "RGB", case


@pytest.mark.parametrize("case", list(CASES))
def test_training_evaluation_and_degrade_decode_a_file_to_the_same_pixels(decoded, case):
    pixels = decoded[case]
    expected_size = SIZE[::-1] if case == "RGB_exif" else SIZE  # EXIF orientation applied everywhere
    for path, array in pixels.items():
        assert array.shape == (expected_size[1], expected_size[0], 3) and array.dtype == np.uint8, path
    np.testing.assert_array_equal(pixels["training"], pixels["degrade"], err_msg=f"{case}: training")
    np.testing.assert_array_equal(pixels["evaluation"], pixels["degrade"], err_msg=f"{case}: evaluation")
    wanted = CASES[case][2]
    if wanted is not None:
        assert tuple(pixels["degrade"][0, 0]) == wanted
    if case == "P_transparency":  # the opaque half keeps its palette colour
        assert tuple(pixels["degrade"][0, -1]) == (10, 200, 30)
    if case == "RGB_exif":  # the white top row of the stored image is the right-hand column upright
        assert pixels["degrade"][:, -1].min() > 200 and pixels["degrade"][:, 0].max() < 60


def test_load_rgb_names_what_is_not_an_image():
    from roma.degrade import InvalidImageError
    from roma.degrade.convert import load_rgb

    with pytest.raises(InvalidImageError, match="cannot decode image: UnidentifiedImageError"):
        load_rgb(b"not an image")
    with pytest.raises(InvalidImageError, match="cannot decode image: FileNotFoundError"):
        load_rgb(Path(__file__).parent / "no_such_image.png")
    assert load_rgb(Image.new("I;16", (2, 1), 257)).getpixel((0, 0)) == (1, 1, 1)
