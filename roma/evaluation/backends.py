"""Generation backends: transformers (default, batched, left-padded) and vLLM (optional, imported lazily).

A backend turns a batch of (conversation, images) requests into ``k`` response texts each: greedy when
``temperature == 0`` (then ``k`` must be 1), else sampled (avg@k). Sampling is seeded per batch by the
caller, so a resumed sweep regenerates a batch exactly as an uninterrupted one would.

Preparing a batch's inputs (chat template, processor) is split from generating (:meth:`prepare_inputs`,
then ``generate(..., inputs=...)``), so the sweep prepares the next batch in a thread while the current one
generates; both methods may run at the same time from two threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from roma.evaluation.errors import EvaluationError
from roma.models.processing import set_pixel_range
from roma.models.resolve import resolve_model
from roma.models.rope_index import share_rope_index

__all__ = [
    "BACKENDS",
    "GenerationBackend",
    "GenerationRequest",
    "TransformersBackend",
    "VLLMBackend",
    "make_backend",
]

logger = logging.getLogger(__name__)


@dataclass
class GenerationRequest:
    """One prompt: a conversational message list with ``{"type": "image"}`` placeholders, and its images."""

    conversation: list[dict[str, Any]]
    images: list[Image.Image] = field(default_factory=list)


class GenerationBackend(Protocol):
    """What the sweep needs from a backend."""

    name: str

    def prepare_inputs(self, requests: Sequence[GenerationRequest]) -> Any:
        """The model inputs of ``requests`` (host side; safe to call from a thread while ``generate`` runs)."""
        ...

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        num_samples: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        inputs: Any = None,
    ) -> list[list[str]]:
        """``num_samples`` responses per request, in request order; ``inputs``: ``prepare_inputs(requests)``."""
        ...


def check_sampling(num_samples: int, temperature: float) -> None:
    """avg@k needs sampling: ``k > 1`` with greedy decoding would score one answer k times."""
    if num_samples < 1:
        raise EvaluationError(f"num_samples_per_prompt must be >= 1, got {num_samples}")
    if temperature < 0:
        raise EvaluationError(f"temperature must be >= 0, got {temperature}")
    if num_samples > 1 and temperature == 0:
        raise EvaluationError(
            f"num_samples_per_prompt={num_samples} with temperature 0 (greedy) would repeat one answer; "
            "pass --temperature > 0 for avg@k (the literature uses 1.0)"
        )


def _resolve_device(device: str) -> str:
    """``auto`` as CUDA when there is a GPU, else CPU; any other device checked against the GPUs visible."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise EvaluationError(
            f"--device {device!r} is not a device (expected auto, cpu, cuda or cuda:N)"
        ) from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise EvaluationError(
                f"--device {device}: no CUDA GPU is visible to torch (torch.cuda.is_available() is False); "
                "use --device cpu or --device auto"
            )
        if parsed.index is not None and parsed.index >= count:
            raise EvaluationError(
                f"--device {device}: only {count} CUDA GPU(s) are visible (cuda:0 .. cuda:{count - 1})"
            )
    return device


def resolve_model_path(model: str | Path) -> str:
    """The checkpoint to load: a ``roma-tiny/FAMILY-SIZE`` name built offline into its cached folder
    (`roma.models.resolve.resolve_model`, as the recipes do); any other path or hub id as given."""
    try:
        return resolve_model(str(model))
    except ValueError as error:
        raise EvaluationError(str(error)) from None


def _resolve_dtype(dtype: str, device: str) -> Any:
    import torch

    if dtype == "auto":
        return (
            torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
        )
    try:
        return {
            "float32": torch.float32,
            "fp32": torch.float32,
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
            "float16": torch.float16,
            "fp16": torch.float16,
        }[dtype]
    except KeyError:
        raise EvaluationError(
            f"unknown dtype {dtype!r} (expected auto, float32, bfloat16 or float16)"
        ) from None


class TransformersBackend:
    """``AutoModelForImageTextToText`` + ``AutoProcessor``, batched and left-padded.

    Args:
        model_path: a checkpoint folder or hub id with a processor.
        max_new_tokens: generation budget per response.
        device: ``auto`` (CUDA if available), ``cpu``, ``cuda``, ``cuda:1``...
        dtype: ``auto`` (bf16 on a GPU that supports it, else fp32), ``float32``, ``bfloat16``, ``float16``.
    """

    name = "transformers"

    def __init__(
        self,
        model_path: str | Path,
        *,
        max_new_tokens: int = 1024,
        device: str = "auto",
        dtype: str = "auto",
        min_pixels: int | None = None,
        max_pixels: int | None = None,
    ):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.model_path = resolve_model_path(model_path)
        self.device = _resolve_device(device)
        try:
            self.processor = set_pixel_range(
                AutoProcessor.from_pretrained(self.model_path), min_pixels, max_pixels
            )
            self.model = AutoModelForImageTextToText.from_pretrained(
                self.model_path, dtype=_resolve_dtype(dtype, self.device)
            )
        except OSError as error:
            raise EvaluationError(f"cannot load model {self.model_path!r}: {error}") from None
        self.model.to(self.device).eval()
        # Qwen3-VL: each prompt layout's RoPE positions once per batch (the same tensors).
        share_rope_index(self.model)
        self.processor.tokenizer.padding_side = "left"  # generated tokens must follow every prompt directly
        self.max_new_tokens = int(max_new_tokens)
        self._torch = torch
        # The fast tokenizer is a Rust object that raises "Already borrowed" when one thread encodes (which
        # may reset its padding settings) while another decodes: its calls are serialized.
        self._tokenizer_lock = threading.Lock()

    def prompt_text(self, conversation: list[dict[str, Any]]) -> str:
        return self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)

    def prepare_inputs(self, requests: Sequence[GenerationRequest]) -> Any:
        """The processor's batch (input ids, attention mask, pixel values, grids), on the CPU."""
        texts = [self.prompt_text(request.conversation) for request in requests]
        images = [image for request in requests for image in request.images]
        with self._tokenizer_lock:
            return self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")

    def encode(self, requests: Sequence[GenerationRequest]) -> Any:
        """The processor's batch (input ids, attention mask, pixel values, grids) on the model's device."""
        return self.prepare_inputs(requests).to(self.device)

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        num_samples: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        inputs: Any = None,
    ) -> list[list[str]]:
        ids = self.generate_ids(
            requests, num_samples=num_samples, temperature=temperature, seed=seed, inputs=inputs
        )
        with self._tokenizer_lock:
            texts = self.processor.batch_decode(ids, skip_special_tokens=True)
        return [texts[i * num_samples : (i + 1) * num_samples] for i in range(len(requests))]

    def generate_ids(
        self,
        requests: Sequence[GenerationRequest],
        *,
        num_samples: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        inputs: Any = None,
    ) -> list[list[int]]:
        """Generated token ids (prompt and padding removed, cut after the first end-of-sequence token).

        ``inputs``: ``prepare_inputs(requests)`` when already computed (the sweep prepares it in a thread).
        """
        check_sampling(num_samples, temperature)
        torch = self._torch
        batch = (inputs if inputs is not None else self.prepare_inputs(requests)).to(self.device)
        sampling = (
            {"do_sample": False} if temperature == 0 else {"do_sample": True, "temperature": temperature}
        )
        devices = []
        if self.device.startswith("cuda"):
            index = torch.device(self.device).index
            devices = [index if index is not None else torch.cuda.current_device()]
        # fork_rng: seed this batch's sampling without touching the caller's global RNG.
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(seed)
            output = self.model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                num_return_sequences=num_samples,
                top_p=1.0,
                top_k=None,
                **sampling,
            )
        generated = output[:, batch["input_ids"].shape[1] :].tolist()
        eos = self.model.generation_config.eos_token_id
        stop = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        trimmed = []
        for row in generated:
            end = next((i + 1 for i, token in enumerate(row) if token in stop), len(row))
            trimmed.append(row[:end])  # padding after a finished sequence is dropped; its end token kept
        return trimmed


class VLLMBackend:
    """vLLM offline inference (GPU). Optional: install ``trl-roma[vllm]``; imported only when selected.

    Typed against vLLM's documented offline API: ``LLM(model, tensor_parallel_size, gpu_memory_utilization,
    limit_mm_per_prompt)``, ``SamplingParams(n, temperature, max_tokens, seed)`` and ``LLM.generate`` on
    ``{"prompt", "multi_modal_data": {"image": ...}}`` dicts. vLLM cannot be installed on the development
    machine: the tests run this class against a stand-in engine with that interface, not against vLLM.

    Args:
        tensor_parallel_size: GPUs per engine. A data-parallel sweep runs one engine per process on the GPUs
            the sweep makes visible to it (`roma.evaluation.sharding.visible_devices`).
    """

    name = "vllm"

    def __init__(
        self,
        model_path: str | Path,
        *,
        max_new_tokens: int = 1024,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.85,
        max_images_per_prompt: int = 8,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        **llm_kwargs: Any,
    ):
        try:
            from vllm import LLM
        except ImportError:
            raise EvaluationError(
                "--backend vllm needs vLLM (pip install 'trl-roma[vllm]', GPU only); use --backend transformers"
            ) from None
        from transformers import AutoProcessor

        self.model_path = resolve_model_path(model_path)
        self.processor = set_pixel_range(
            AutoProcessor.from_pretrained(self.model_path), min_pixels, max_pixels
        )
        self.llm = LLM(
            model=self.model_path,
            tensor_parallel_size=int(tensor_parallel_size),
            gpu_memory_utilization=gpu_memory_utilization,
            limit_mm_per_prompt={"image": max_images_per_prompt},
            **llm_kwargs,
        )
        self.max_new_tokens = int(max_new_tokens)

    def prepare_inputs(self, requests: Sequence[GenerationRequest]) -> list[dict[str, Any]]:
        """vLLM prompts: the chat-templated text and the images of each request."""
        prompts = []
        for request in requests:
            prompt: dict[str, Any] = {
                "prompt": self.processor.apply_chat_template(
                    request.conversation, add_generation_prompt=True, tokenize=False
                )
            }
            if request.images:
                prompt["multi_modal_data"] = {
                    "image": request.images if len(request.images) > 1 else request.images[0]
                }
            prompts.append(prompt)
        return prompts

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        *,
        num_samples: int = 1,
        temperature: float = 0.0,
        seed: int = 0,
        inputs: list[dict[str, Any]] | None = None,
    ) -> list[list[str]]:
        from vllm import SamplingParams

        check_sampling(num_samples, temperature)
        params = SamplingParams(
            n=num_samples, temperature=temperature, max_tokens=self.max_new_tokens, seed=seed
        )
        prompts = inputs if inputs is not None else self.prepare_inputs(requests)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [[completion.text for completion in output.outputs] for output in outputs]


BACKENDS = {"transformers": TransformersBackend, "vllm": VLLMBackend}


def make_backend(name: str, model_path: str | Path, **kwargs: Any) -> GenerationBackend:
    """Build the backend called ``name`` (``transformers`` or ``vllm``)."""
    if name not in BACKENDS:
        raise EvaluationError(f"unknown backend {name!r}; expected one of {sorted(BACKENDS)}")
    if name == "vllm":
        kwargs = {k: v for k, v in kwargs.items() if k not in ("device", "dtype")} | (
            {"dtype": kwargs["dtype"]} if kwargs.get("dtype", "auto") != "auto" else {}
        )
    elif kwargs.pop("tensor_parallel_size", 1) != 1:
        raise EvaluationError(f"tensor_parallel_size > 1 needs the vllm backend, not {name!r}")
    return BACKENDS[name](model_path, **kwargs)
