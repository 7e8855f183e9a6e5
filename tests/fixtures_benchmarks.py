"""Local copies of the evaluation benchmarks in their published schemas, a few rows each, written by tests.

The hub is unreachable in tests, so each writer produces the files a user would download: parquet with
`datasets` Image features (the hub's layout), JSON / JSONL plus image files (the original GitHub releases of
MathVision and LogicVista), a TSV with base64 images (VLMEvalKit's MMStar). Column names, answer spellings
and quirks (MathVista's gold option *text*, LogicVista's "A, C", WeMath's one-string options, MMMU's
stringified option lists and ``image_1..7``) follow ``/work/shared/BENCHMARKS.md``.

``GOLD_TEXTS`` gives, per benchmark and sample id, an answer a perfect model would box: tests grade it
correct through the adapter's grading arguments.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

IMAGE_SIZE = (48, 40)  # width, height: not square, so a transposed image would be caught


def make_image(seed: int, size: tuple[int, int] = IMAGE_SIZE) -> Image.Image:
    """A small RGB image with a random blocky pattern (distinct per seed, compressible)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((8, 8, 1), dtype=np.uint8))[: size[1], : size[0]]
    return Image.fromarray(pixels, "RGB")


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_parquet(rows: list[dict[str, Any]], path: Path, image_columns: tuple[str, ...]) -> Path:
    import datasets

    columns = {name: [row.get(name) for row in rows] for name in rows[0]}
    dataset = datasets.Dataset.from_dict(columns)
    for name in image_columns:
        dataset = dataset.cast_column(name, datasets.Image())
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_parquet(str(path))
    return path


def _save_image(image: Image.Image, root: Path, relative: str) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return relative


# ---------------------------------------------------------------------------------------------- writers
def write_mathvista(root: Path) -> Path:
    folder = root / "MathVista"
    rows = []
    specs = [
        ("1", "multi_choice", "text", ["3", "4", "5"], "4", None, "What is the number of sides?"),
        ("2", "free_form", "integer", None, "12", None, "How many dots are there?"),
        ("3", "free_form", "float", None, "1.45", 2, "What is the length of the bar?"),
    ]
    for i, (pid, qtype, atype, choices, answer, precision, question) in enumerate(specs):
        image = make_image(100 + i)
        rows.append(
            {
                "pid": pid,
                "question": question,
                "image": _save_image(image, folder, f"images/{pid}.jpg"),
                "decoded_image": {"bytes": _png_bytes(image), "path": None},
                "choices": choices,
                "unit": None,
                "precision": precision,
                "answer": answer,
                "question_type": qtype,
                "answer_type": atype,
                "metadata": {
                    "source": "fixture",
                    "task": "math word problem" if qtype == "free_form" else "figure question answering",
                    "skills": ["arithmetic reasoning"] if qtype == "free_form" else ["logical reasoning"],
                },
                "query": f"Hint: answer the question.\nQuestion: {question}",
            }
        )
    return _write_parquet(rows, folder / "data" / "testmini-00000-of-00001.parquet", ("decoded_image",))


def write_mathverse(root: Path) -> Path:
    folder = root / "mathverse"
    rows = []
    for i, (version, qtype, answer) in enumerate(
        [
            ("Vision Only", "multi-choice", "B"),
            ("Vision Only", "free-form", "\\frac{1}{2}"),
            ("Text Dominant", "free-form", "3"),
        ]
    ):
        rows.append(
            {
                "sample_index": str(10 + i),
                "problem_index": str(i),
                "problem_version": version,
                "question": "",
                "image": {"bytes": _png_bytes(make_image(200 + i)), "path": None},
                "answer": answer,
                "question_type": qtype,
                "metadata": {"split": "testmini"},
                "query_wo": "Answer directly.",
                "query_cot": "According to the question shown in the image, first reason, then answer.",
                "question_for_eval": "hidden",
            }
        )
    return _write_parquet(rows, folder / "testmini" / "testmini-00000-of-00001.parquet", ("image",))


def write_mathvision(root: Path) -> Path:
    """The GitHub release: ``data/testmini.jsonl`` with image paths relative to the repository root."""
    folder = root / "MathVision"
    rows = [
        {
            "id": "1",
            "question": "<image1>Which shape is shaded?",
            "options": ["A", "B", "C", "D", "E"],
            "answer": "C",
            "solution": None,
            "level": 2,
            "subject": "logic",
            "image": _save_image(make_image(300), folder, "images/1.jpg"),
        },
        {
            "id": "2",
            "question": "<image1>What is x?",
            "options": [],
            "answer": "\\frac{3}{4}",
            "solution": None,
            "level": 3,
            "subject": "algebra",
            "image": _save_image(make_image(301), folder, "images/2.jpg"),
        },
    ]
    path = folder / "data" / "testmini.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_wemath(root: Path) -> Path:
    folder = root / "We-Math"
    rows = [
        {
            "ID": "7",
            "split": "testmini",
            "knowledge concept": "angles",
            "question": "What is the angle?",
            "option": "A. 30°; B. 45°; C. 60°; D. 90°; E. No correct answer",
            "answer": "C",
            "image_path": {"bytes": _png_bytes(make_image(400)), "path": None},
            "key": "2steps_1",
        },
        {
            "ID": "7",
            "split": "testmini",
            "knowledge concept": "angles",
            "question": "What is the other angle?",
            "option": "A. 30°; B. 45°; C. 60°; D. 90°; E. No correct answer",
            "answer": "A",
            "image_path": {"bytes": _png_bytes(make_image(401)), "path": None},
            "key": "2steps_2",
        },
        {  # the composite question of the two-step problem 7 (We-Math's four dimensions join on ID)
            "ID": "7",
            "split": "testmini",
            "knowledge concept": "angles",
            "question": "What is the sum of the two angles?",
            "option": "A. 60°; B. 75°; C. 90°; D. 105°; E. No correct answer",
            "answer": "C",
            "image_path": {"bytes": _png_bytes(make_image(402)), "path": None},
            "key": "2steps_multi",
        },
    ]
    return _write_parquet(rows, folder / "testmini.parquet", ("image_path",))


def write_logicvista(root: Path) -> Path:
    """One JSON list plus an ``images/`` folder."""
    folder = root / "logicvista"
    rows = [
        {
            "id": "lv1",
            "question": "Which pieces fit? Choose all that apply.\nA. 1\nB. 2\nC. 3\nD. 4",
            "answer": "A, C",
            "reasoning": "...",
            "image": _save_image(make_image(500), folder, "images/lv1.png"),
            "skill": ["spatial"],
        },
        {
            "id": "lv2",
            "question": "Which comes next?\nA. x\nB. y\nC. z\nD. w",
            "answer": "D",
            "reasoning": "...",
            "image": _save_image(make_image(501), folder, "images/lv2.png"),
            "skill": ["inductive"],
        },
    ]
    path = folder / "data.json"
    path.write_text(json.dumps(rows))
    return path


def write_dynamath(root: Path, num_variants: int = 10) -> Path:
    """Ten variant splits of two seed questions, one parquet file per split (the hub's layout)."""
    folder = root / "DynaMath_Sample" / "data"
    for variant in range(1, num_variants + 1):
        rows = [
            {
                "id": "1",
                "question": "Which option is the largest?\n(A) a (B) b (C) c (D) d",
                "ground_truth": "B",
                "answer_type": "multiple choice",
                "subject": "algebra",
                "knowledge_level": "high school",
                "decoded_image": {"bytes": _png_bytes(make_image(600 + variant)), "path": None},
            },
            {
                "id": "2",
                "question": "What is the slope?",
                "ground_truth": f"{0.5 + variant:.3f}",
                "answer_type": "float",
                "subject": "analytic geometry",
                "knowledge_level": "high school",
                "decoded_image": {"bytes": _png_bytes(make_image(700 + variant)), "path": None},
            },
        ]
        _write_parquet(rows, folder / f"sample_variant{variant}-00000-of-00001.parquet", ("decoded_image",))
    return folder


def _mmmu_rows(prefix: str, seed: int, open_question: bool = False) -> list[dict[str, Any]]:
    options = [f"option {k}" for k in range(10)]
    rows = [
        {
            "id": f"{prefix}_1",
            "question": "<image 1> Which region is highlighted?",
            "options": str(options),
            "answer": "D",
            "image_1": {"bytes": _png_bytes(make_image(seed)), "path": None},
            "image_2": None,
            "subject": "Art",
            "question_type": "multiple-choice",
        },
        {
            "id": f"{prefix}_2",
            "question": "Compare <image 1> and <image 2>: which is older?",
            "options": str(options[:4]),
            "answer": "A",
            "image_1": {"bytes": _png_bytes(make_image(seed + 1)), "path": None},
            "image_2": {"bytes": _png_bytes(make_image(seed + 2)), "path": None},
            "subject": "History",
            "question_type": "multiple-choice",
        },
    ]
    if open_question:
        rows.append(
            {
                "id": f"{prefix}_3",
                "question": "<image 1> What is the resistance in ohms?",
                "options": "[]",
                "answer": "['24', '24.0']",
                "image_1": {"bytes": _png_bytes(make_image(seed + 3)), "path": None},
                "image_2": None,
                "subject": "Physics",
                "question_type": "open",
            }
        )
    return rows


def write_mmmu_pro(root: Path) -> Path:
    rows = [{k: v for k, v in row.items() if k != "question_type"} for row in _mmmu_rows("pro", 800)]
    return _write_parquet(
        rows,
        root / "MMMU_Pro" / "standard (10 options)" / "test-00000-of-00001.parquet",
        ("image_1", "image_2"),
    )


def write_mmmu(root: Path) -> Path:
    return _write_parquet(
        _mmmu_rows("validation_Art", 850, open_question=True),
        root / "MMMU" / "validation-00000-of-00001.parquet",
        ("image_1", "image_2"),
    )


def write_mmstar(root: Path) -> Path:
    """VLMEvalKit's TSV: base64-encoded images in the ``image`` column."""
    folder = root / "MMStar"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["index\tquestion\timage\tanswer\tcategory\tl2_category"]
    for i, answer in enumerate(["A", "C"]):
        encoded = base64.b64encode(_png_bytes(make_image(900 + i))).decode()
        lines.append(
            f"{i}\tWhat is shown? Options: A: cat, B: dog, C: bird, D: fish\t{encoded}\t{answer}\tcoarse\tobject"
        )
    path = folder / "MMStar_val.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_hallusionbench(root: Path) -> Path:
    rows = [
        {
            "category": "VS",
            "subcategory": "chart",
            "visual_input": "1",
            "set_id": "0",
            "figure_id": "0",
            "sample_note": "",
            "question_id": str(i),
            "question": f"Is the bar {i} taller than the others?",
            "gt_answer_details": "",
            "gt_answer": gt,
            "filename": f"{i}.png",
            "image": {"bytes": _png_bytes(make_image(950 + i)), "path": None},
        }
        for i, gt in enumerate(["1", "0"])
    ]
    return _write_parquet(rows, root / "HallusionBench" / "data" / "image-00000-of-00001.parquet", ("image",))


def write_chartqa(root: Path) -> Path:
    rows = [
        {
            "image": {"bytes": _png_bytes(make_image(980)), "path": None},
            "query": "What is the peak value?",
            "label": ["41.5"],
            "human_or_machine": 0,
        },
        {
            "image": {"bytes": _png_bytes(make_image(981)), "path": None},
            "query": "Which year is lowest?",
            "label": ["2012"],
            "human_or_machine": 1,
        },
    ]
    return _write_parquet(rows, root / "ChartQA" / "data" / "test-00000-of-00001.parquet", ("image",))


WRITERS: dict[str, Callable[[Path], Path]] = {
    "mathvista": write_mathvista,
    "mathverse": write_mathverse,
    "mathvision": write_mathvision,
    "wemath": write_wemath,
    "logicvista": write_logicvista,
    "dynamath": write_dynamath,
    "mmmu_pro": write_mmmu_pro,
    "mmmu": write_mmmu,
    "mmstar": write_mmstar,
    "hallusionbench": write_hallusionbench,
    "chartqa": write_chartqa,
}

# A response text a perfect model would box, per benchmark and sample id (tests grade it as correct).
GOLD_TEXTS: dict[str, dict[str, str]] = {
    "mathvista": {"1": "4", "2": "12", "3": "1.45"},
    "mathverse": {"10": "B", "11": "0.5"},
    "mathvision": {"1": "C", "2": "3/4"},
    "wemath": {"7/2steps_1": "C", "7/2steps_2": "A", "7/2steps_multi": "C"},
    "logicvista": {"lv1": "A, C", "lv2": "D"},
    "dynamath": {
        f"{seed}/variant{v}": ("B" if seed == "1" else f"{0.5 + v:.3f}")
        for seed in ("1", "2")
        for v in range(1, 11)
    },
    "mmmu_pro": {"pro_1": "D", "pro_2": "A"},
    "mmmu": {"validation_Art_1": "D", "validation_Art_2": "A", "validation_Art_3": "24"},
    "mmstar": {"0": "A", "1": "C"},
    "hallusionbench": {"VS/chart/0/0/0": "Yes", "VS/chart/0/0/1": "No"},
    "chartqa": {"test-0": "41.6", "test-1": "2012"},
}


def write_all_benchmarks(root: str | Path, names: list[str] | None = None) -> Path:
    """Write every benchmark (or ``names``) under ``root``; returns ``root`` (use it as ``--data_dir``)."""
    root = Path(root)
    for name in names or list(WRITERS):
        WRITERS[name](root)
    return root


# ------------------------------------------------------------------------------ one malformed row per benchmark
# For each benchmark: the fields of one extra row (a copy of the first row with these overrides) that makes
# it unusable as published, and the words of the reason the loader gives for it.
MALFORMED_ROWS: dict[str, tuple[dict[str, Any], str]] = {
    "mathvista": (
        {
            "pid": "99",
            "answer": "seven",
            "question_type": "free_form",
            "answer_type": "integer",
            "choices": None,
        },
        "field 'answer' = 'seven' is not an integer",
    ),
    "mathverse": ({"sample_index": "99", "answer": ""}, "field 'answer' = '' is empty"),
    "mathvision": ({"id": "99", "image": "images/99.jpg"}, "image file 'images/99.jpg' not found"),
    "wemath": ({"ID": "99", "key": "1steps", "option": "no options here"}, "has no 'A. ...; B. ...' options"),
    # As the release's v1_382: no question and no answer (v1_20's numbered gold "3" is graded, not skipped).
    "logicvista": (
        {"id": "v1_382", "question": "", "answer": ""},
        "field 'answer' = '' is not an option letter",
    ),
    "dynamath": (
        {"id": "99", "answer_type": "float", "ground_truth": "about two"},
        "field 'ground_truth' = 'about two' is not a number",
    ),
    "mmmu_pro": ({"id": "pro_99", "options": "[{[]}]"}, "is not a (stringified) list of options"),
    "mmmu": ({"id": "validation_Art_99", "options": "[{[]}]"}, "is not a (stringified) list of options"),
    "mmstar": ({"index": "99", "answer": "F"}, "field 'answer' = 'F' names an option beyond the 4 given"),
    "hallusionbench": ({"question_id": "9", "gt_answer": "2"}, "field 'gt_answer' = '2' is not '0' or '1'"),
    "chartqa": ({"label": []}, "field 'label' = [] is empty"),
}
# The sample id each malformed row gets.
MALFORMED_IDS = {
    "mathvista": "99",
    "mathverse": "99",
    "mathvision": "99",
    "wemath": "99/1steps",
    "logicvista": "v1_382",
    "dynamath": "99",
    "mmmu_pro": "pro_99",
    "mmmu": "validation_Art_99",
    "mmstar": "99",
    "hallusionbench": "VS/chart/0/0/9",
    "chartqa": "test-2",
}


def add_malformed_row(root: Path, name: str) -> None:
    """Append :data:`MALFORMED_ROWS` ``name``'s row to the benchmark's data file written under ``root``."""
    import datasets

    overrides, _ = MALFORMED_ROWS[name]
    folder = find_benchmark_file(root, name)
    if folder.suffix == ".parquet":
        dataset = datasets.Dataset.from_parquet(str(folder))
        images = [c for c, f in dataset.features.items() if isinstance(f, datasets.Image)]
        for column in images:  # rows as stored ({"bytes", "path"}), so the copy appends as it is
            dataset = dataset.cast_column(column, datasets.Image(decode=False))
        extra = datasets.Dataset.from_list([{**dataset[0], **overrides}], features=dataset.features)
        dataset = datasets.concatenate_datasets([dataset, extra])
        for column in images:
            dataset = dataset.cast_column(column, datasets.Image())
        dataset.to_parquet(str(folder))
    elif folder.suffix == ".jsonl":
        rows = [json.loads(line) for line in folder.read_text().splitlines()]
        folder.write_text("".join(json.dumps(row) + "\n" for row in [*rows, {**rows[0], **overrides}]))
    elif folder.suffix == ".json":
        rows = json.loads(folder.read_text())
        folder.write_text(json.dumps([*rows, {**rows[0], **overrides}]))
    else:  # VLMEvalKit TSV
        header, first, *_ = folder.read_text().splitlines()
        row = dict(zip(header.split("\t"), first.split("\t"))) | overrides
        with folder.open("a") as stream:
            stream.write("\t".join(str(row[column]) for column in header.split("\t")) + "\n")


def find_benchmark_file(root: Path, name: str) -> Path:
    """The (first) data file a writer put under ``root`` for ``name`` (DynaMath: its first variant)."""
    folders = {
        "mathvista": "MathVista",
        "mathverse": "mathverse",
        "mathvision": "MathVision",
        "wemath": "We-Math",
        "logicvista": "logicvista",
        "dynamath": "DynaMath_Sample",
        "mmmu_pro": "MMMU_Pro",
        "mmmu": "MMMU",
        "mmstar": "MMStar",
        "hallusionbench": "HallusionBench",
        "chartqa": "ChartQA",
    }
    files = sorted(
        p for p in (root / folders[name]).rglob("*") if p.suffix in (".parquet", ".jsonl", ".json", ".tsv")
    )
    return files[0]


# ------------------------------------------------------------------------------------ other published layouts
def write_logicvista_release(root: Path) -> Path:
    """LogicVista's GitHub release: ``dataset.json``, an ``{id: row}`` mapping naming the image ``imagename``
    (a file in ``images/``), with the two non-letter golds of the published file: v1_20's "3" (options numbered
    1-5 in the image) and v1_382, whose question and answer are both empty."""
    folder = root / "LogicVista"
    rows = {}
    lettered = "Which one? Select all that apply.\nA. 1\nB. 2\nC. 3\nD. 4"
    # v1_20 as published: its five options are numbered in the image, the gold is the option's number.
    numbered = "Which is the correct answer according to the image? Select from 1-5"
    published = [
        ("v1_1", lettered, "B"),
        ("v1_2", lettered, "A, D"),
        ("v1_20", numbered, "3"),
        ("v1_382", "", ""),
    ]
    for i, (key, question, answer) in enumerate(published):
        _save_image(make_image(520 + i), folder, f"images/{i}.jpg")
        rows[key] = {
            "imagename": f"{i}.jpg",
            "question": question,
            "answer": answer,
            "reasoning": "...",
            "skill": "deductive",  # one skill as a plain string
        }
    path = folder / "dataset.json"
    path.write_text(json.dumps(rows))
    return path


def write_mathvista_vlmevalkit(root: Path) -> Path:
    """VLMEvalKit's MathVista_MINI.tsv: base64 images, ``index`` instead of ``pid``, choices and skills as
    stringified lists, task and skills as columns of their own."""
    folder = root / "MathVista"
    folder.mkdir(parents=True, exist_ok=True)
    header = (
        "index\timage\tquestion\tanswer\tchoices\tquestion_type\tanswer_type\tprecision\tunit\ttask\tskills"
    )
    rows = [
        (
            "1",
            "Which is largest?",
            "b",
            "['a', 'b', 'c']",
            "multi_choice",
            "text",
            "",
            "",
            "figure question answering",
            "['logical reasoning']",
        ),
        (
            "2",
            "How many?",
            "7",
            "",
            "free_form",
            "integer",
            "",
            "",
            "math word problem",
            "['arithmetic reasoning', 'numeric commonsense']",
        ),
        (
            "3",
            "How long?",
            "2.5",
            "",
            "free_form",
            "float",
            "1.0",
            "cm",
            "geometry problem solving",
            "['geometry reasoning']",
        ),
    ]
    lines = [header]
    for i, (index, question, answer, choices, qtype, atype, precision, unit, task, skills) in enumerate(rows):
        encoded = base64.b64encode(_png_bytes(make_image(150 + i))).decode()
        lines.append(
            "\t".join(
                [index, encoded, question, answer, choices, qtype, atype, precision, unit, task, skills]
            )
        )
    path = folder / "MathVista_MINI.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_dynamath_lmms_eval(root: Path) -> Path:
    """lmms-eval's DynaMath mirror: one ``test`` split holding every variant, a seed's rows in variant order."""
    rows = [
        {
            "id": seed,
            "question": question,
            "ground_truth": truth(variant),
            "answer_type": answer_type,
            "subject": "algebra",
            "knowledge_level": "high school",
            "decoded_image": {"bytes": _png_bytes(make_image(760 + 10 * int(seed) + variant)), "path": None},
        }
        for variant in range(1, 4)
        for seed, question, answer_type, truth in (
            ("1", "Is the graph increasing?\n(A) yes (B) no", "multiple choice", lambda v: "AB"[v % 2]),
            ("2", "What is the intercept?", "float", lambda v: f"{v / 4:.3f}"),
        )
    ]
    return _write_parquet(
        rows, root / "DynaMath" / "data" / "test-00000-of-00001.parquet", ("decoded_image",)
    )


def write_chartqa_lmms_eval(root: Path) -> Path:
    """lmms-eval's ChartQA mirror (lmms-lab/ChartQA): ``question`` / ``answer`` / ``type``."""
    rows = [
        {
            "type": kind,
            "question": question,
            "answer": answer,
            "image": {"bytes": _png_bytes(make_image(990 + i)), "path": None},
        }
        for i, (kind, question, answer) in enumerate(
            [("human_test", "What share is blue?", "0.57"), ("augmented_test", "Which is lowest?", "Chad")]
        )
    ]
    return _write_parquet(rows, root / "ChartQA" / "test-00000-of-00001.parquet", ("image",))


# --------------------------------------------------------------------------------------------- MathReal
# Four rows of MathReal's testmini as released (github.com/junfeng0288/MathReal, json/testmini.json), with
# the answers a perfect model would box (MATHREAL_GOLD_TEXTS).
_MATHREAL_ROWS = [
    # idx, type, category, AnswerEN, AnswerCN, image-quality ratings, rotation, has a clean rendition
    (
        1,
        "ConstructedResponse",
        "Solid Geometry",
        "The volume of the cuboid is 60 cm³.",
        "60cm^3",
        (0, 0, 0, 0),
        "Upright",
        True,
    ),
    (
        2,
        "FillInTheBlank",
        "Plane Geometry",
        "6 cm²; 6 cm²; 7 cm²",
        "6cm^2;6cm^2;7cm^2",
        (2, 0, 1, 0),
        "Upright",
        True,
    ),
    (3, "MultipleChoice", "Logical Reasoning", "C", "C", (1, 0, 0, 1), "Clockwise90°", False),
    (
        4,
        "ConstructedResponse",
        "Function Graphs",
        "(1) \\( a = 4 \\); (2) \\( Q(-4, 1) \\)",
        "(1)a=4;(2)Q(−4,1)",
        (1, 3, 3, 0),
        "Upright",
        False,
    ),
]
MATHREAL_GOLD_TEXTS = {"1": "60", "2": "6; 6; 7", "3": "C", "4": "a=4; Q(-4,1)"}


def write_mathreal(root: Path) -> Path:
    """MathReal's GitHub release: ``json/testmini.json`` (a list of rows) and the photos under ``img/``
    (``ImgReal`` = ``real/0001.jpg``; ``ImgClean``, where the row has a clean rendition, ``clean/0001.png``)."""
    folder = root / "MathReal"
    rows = []
    for idx, kind, category, answer_en, answer_cn, quality, rotation, clean in _MATHREAL_ROWS:
        question = "As shown in the figure, find the value asked for."
        if kind == "MultipleChoice":
            question = "Which finger is 2019 counted on? (    )\nA. Thumb\nB. Index finger\nC. Middle finger\nD. Ring finger"
        rows.append(
            {
                "idx": idx,
                "ImgReal": _save_image(make_image(600 + idx), folder / "img", f"real/{idx:04d}.jpg"),
                "ImgClean": _save_image(make_image(700 + idx), folder / "img", f"clean/{idx:04d}.png")
                if clean
                else None,
                "QuestionCN": "如图,求值.",
                "QuestionEN": question,
                "DescriptionCN": "1.一个图形;",
                "DescriptionEN": "1. A figure;",
                "AnswerCN": answer_cn,
                "AnswerEN": answer_en,
                "Table": 0,
                "EducationalStage": "Middle",
                "QuestionType": kind,
                "Category": category,
                "Difficulty": "Medium",
                "ImageQualityDegradation": dict(
                    zip(("blur", "underexposure/overexposure", "shadow coverage", "glare"), quality)
                ),
                "ImagePerspectiveVariation": {
                    "rotation": rotation,
                    "in-plane tilt": 1,
                    "non-planar capture": 0,
                    "background distortion": 0,
                },
                "ContentInterference": {
                    "handwritten questions": 0,
                    "reverse side content": 1 if idx % 2 else 0,
                    "question marking": 0,
                    "figure marking": 0,
                    "handwritten answer for multiple-choice questions": 0,
                    "handwritten process for constructed-response questions": 0,
                },
            }
        )
    path = folder / "json" / "testmini.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2))
    return path
