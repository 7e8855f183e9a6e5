"""``roma degrade``: a labelled contact sheet of corruptions × severities, to see what each one does.

Rows are corruptions, columns are the clean image then each severity; under each tile, the corruption's
parameter at that severity (σ, JPEG quality, scale ...). The image is first resized to fit
one tile and then corrupted, so each tile shows the corruption at the resolution it is displayed at (a
σ = 1 blur of a 4000-pixel photo would be invisible once shrunk to a tile).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from roma.degrade.convert import to_rgb_uint8
from roma.degrade.core import corrupt
from roma.degrade.corruptions import parameter_label
from roma.degrade.errors import DegradationError, shown
from roma.degrade.registry import (
    ALL,
    CAPTURE,
    IMAGENET_C,
    WEATHER,
    get_corruption,
    list_corruptions,
    resolve_corruptions,
    validate_severity,
)
from roma.degrade.sampling import rng_for

__all__ = ["contact_sheet", "main"]

# The largest sheet written: PIL's decompression-bomb warning size, the largest image it reads back without a
# warning (89.5 M pixels, ~270 MB as RGB). The default sheet (224-pixel tiles, every corruption) is far below.
MAX_SHEET_PIXELS = 89_478_485

_BACKGROUND = (255, 255, 255)
_INK = (20, 20, 20)
_MUTED = (110, 110, 110)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # FreeType font bundled with Pillow >= 10.1
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _format_severity(severity: float) -> str:
    return f"{severity:g}"


def contact_sheet(
    image: object,
    corruptions: str | Sequence[str] = ALL,
    severities: Sequence[float] = (1, 2, 3, 4, 5),
    seed: int = 0,
    tile: int = 224,
) -> Image.Image:
    """Render ``image`` under each corruption (rows) at each severity (columns after "clean").

    Args:
        image: any image :func:`roma.degrade.corrupt` accepts.
        corruptions: group name, corruption name, or a list mixing them.
        severities: severities to show, one column each.
        seed: tile ``(name, severity)`` uses ``rng_for(seed, "contact_sheet", name, severity)``.
        tile: the longest side of each tile in pixels.

    Returns:
        An RGB ``PIL.Image`` with a header row of column labels and a label column of corruption names.
    """
    names = resolve_corruptions(corruptions)
    if isinstance(severities, (str, bytes)) or not isinstance(severities, Sequence) or not severities:
        raise DegradationError(f"severities must be a non-empty list of numbers, got {severities!r}")
    for name in names:
        for severity in severities:
            validate_severity(severity, get_corruption(name))
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 16:
        raise DegradationError(f"tile must be an int of at least 16 pixels, got {tile!r}")

    rgb, _ = to_rgb_uint8(image)
    clean = Image.fromarray(rgb.copy(), "RGB")
    clean = (
        ImageOps.contain(clean, (tile, tile), Image.Resampling.LANCZOS) if max(clean.size) > tile else clean
    )
    width, height = clean.size

    label_font, header_font = _font(max(12, tile // 13)), _font(max(12, tile // 12))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_width = max(int(measure.textlength(n, font=label_font)) for n in names) + 24
    header_height = int(header_font.size * 1.9) if hasattr(header_font, "size") else 28
    # Under each corrupted tile: its parameter at that severity (σ, JPEG quality, scale ...).
    captions = {(n, s): parameter_label(n, s) for n in names for s in severities}
    caption_height = (
        int(label_font.size * 1.5) if any(captions.values()) and hasattr(label_font, "size") else 0
    )
    gap = 6
    columns = ["clean", *(f"severity {_format_severity(s)}" for s in severities)]
    size = (
        label_width + len(columns) * (tile + gap),
        header_height + len(names) * (height + caption_height + gap),
    )
    if size[0] * size[1] > MAX_SHEET_PIXELS:
        raise DegradationError(
            f"the sheet would be {size[0]:,}×{size[1]:,} pixels, over the limit of {MAX_SHEET_PIXELS:,} "
            f"(MAX_SHEET_PIXELS): use a smaller tile (now {tile}) or fewer corruptions or severities"
        )
    sheet = Image.new("RGB", size, _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for column, text in enumerate(columns):
        x = label_width + column * (tile + gap) + tile // 2
        draw.text((x, header_height // 2), text, fill=_INK, font=header_font, anchor="mm")
    for row, name in enumerate(names):
        y = header_height + row * (height + caption_height + gap)
        # seen / unseen / a user group, else the narrowest built-in list naming it (weather, capture, imagenet_c)
        group = get_corruption(name).group or next(
            (g for g in (WEATHER, CAPTURE, IMAGENET_C) if name in list_corruptions(g)), None
        )
        line = int(label_font.size * 1.3) if hasattr(label_font, "size") else 16
        draw.text((12, y + height // 2 - line // 2), name, fill=_INK, font=label_font, anchor="lm")
        if group:
            draw.text((12, y + height // 2 + line // 2), group, fill=_MUTED, font=label_font, anchor="lm")
        offset = (tile - width) // 2
        sheet.paste(clean, (label_width + offset, y))
        for column, severity in enumerate(severities, start=1):
            view = corrupt(clean, name, severity, rng_for(seed, "contact_sheet", name, severity))
            sheet.paste(view, (label_width + column * (tile + gap) + offset, y))
            if captions[name, severity]:
                x = label_width + column * (tile + gap) + tile // 2
                caption_y = y + height + caption_height // 2
                draw.text((x, caption_y), captions[name, severity], fill=_MUTED, font=label_font, anchor="mm")
    return sheet


def _parse_severities(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"severities must be comma-separated numbers, got {shown(text)}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one severity")
    return [int(v) if v.is_integer() else v for v in values]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roma degrade",
        description="Render a labelled contact sheet: rows = corruptions, columns = clean + severities.",
    )
    parser.add_argument("image", type=Path, help="input image file (any format PIL reads)")
    parser.add_argument("--out", type=Path, required=True, help="output PNG path")
    parser.add_argument(
        "--group",
        default=ALL,
        help="group (seen, unseen, imagenet_c, weather, capture, all, or a user group), corruption name, or "
        "comma-separated mix (default: all)",
    )
    parser.add_argument(
        "--severities",
        type=_parse_severities,
        default=[1, 2, 3, 4, 5],
        help="comma-separated (default: 1,2,3,4,5)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random corruptions (default: 0)")
    parser.add_argument(
        "--tile", type=int, default=224, help="longest side of each tile in pixels (default: 224)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out.is_dir():
        print(
            f"roma degrade: --out {args.out} is a folder; give the path of the PNG to write", file=sys.stderr
        )
        return 2
    if args.out.exists() and args.image.exists() and args.out.samefile(args.image):
        print(f"roma degrade: --out {args.out} is the input image; it would be overwritten", file=sys.stderr)
        return 2
    try:
        with Image.open(args.image) as opened:
            opened.load()
            image = opened.copy()
    except FileNotFoundError:
        print(f"roma degrade: no such image file: {args.image}", file=sys.stderr)
        return 2
    except (OSError, Image.DecompressionBombError) as error:  # the bomb error is not an OSError
        print(f"roma degrade: cannot read {args.image} as an image: {error}", file=sys.stderr)
        return 2
    try:
        sheet = contact_sheet(image, args.group, args.severities, seed=args.seed, tile=args.tile)
    except DegradationError as error:
        print(f"roma degrade: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, format="PNG")
    print(
        f"wrote {args.out} ({sheet.width}×{sheet.height}, {len(resolve_corruptions(args.group))} corruptions)"
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
