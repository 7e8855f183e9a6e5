"""Benchmarks registered from outside roma: ``--benchmark_module`` and the ``roma.benchmarks`` entry points."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from fixtures_benchmarks import IMAGE_SIZE, make_image

from roma.evaluation.benchmarks import BENCHMARK_REGISTRY, get_benchmark, list_benchmarks, registry
from roma.evaluation.errors import BenchmarkLoadError, UnknownBenchmarkError


def _plugin_source(name: str, *, decorate: bool) -> str:
    """A user's module defining a one-image, integer-answer benchmark called ``name``."""
    return textwrap.dedent(
        f'''
        from roma.evaluation.benchmarks import Benchmark, register_benchmark


        {"@register_benchmark" if decorate else ""}
        class PluginVQA(Benchmark):
            name = "{name}"
            description = "a benchmark from outside roma"
            hub_id = "me/PluginVQA"
            required_columns = ("id", "question", "image", "answer")

            def to_sample(self, row, split, index):
                return self.make_sample(
                    row, split, index, question=row["question"], gold=row["answer"], answer_type="integer"
                )
        '''
    )


def _write_data(data_dir: Path) -> Path:
    folder = data_dir / "PluginVQA"
    folder.mkdir(parents=True)
    make_image(7).save(folder / "a.png")
    (folder / "test.jsonl").write_text(
        json.dumps({"id": 1, "question": "How many?", "image": "a.png", "answer": "2"}) + "\n"
    )
    return data_dir


def _module_on_path(folder: Path, monkeypatch, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> source) into ``folder`` and put it on ``sys.path`` for the test."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (folder / name).write_text(source)
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def isolated_registry(monkeypatch):
    """Registrations, loaded entry points and imported plugin modules are undone after the test."""
    saved = dict(BENCHMARK_REGISTRY)
    monkeypatch.setattr(registry, "_loaded_entry_points", set())
    modules = set(sys.modules)
    yield
    BENCHMARK_REGISTRY.clear()
    BENCHMARK_REGISTRY.update(saved)
    for name in set(sys.modules) - modules:
        if name.startswith("user_plugin_"):
            del sys.modules[name]


def test_benchmark_module_option_registers_a_users_benchmark_for_eval(
    isolated_registry, tmp_path, monkeypatch, capsys
):
    from roma.cli import main as roma_main
    from roma.evaluation.sweep import SweepConfig, SweepRunner

    files = {"user_plugin_vqa.py": _plugin_source("plugin_module_vqa", decorate=True)}
    _module_on_path(tmp_path / "code", monkeypatch, files)
    with pytest.raises(UnknownBenchmarkError):
        get_benchmark("plugin_module_vqa")

    assert roma_main(["eval", "--list_benchmarks", "--benchmark_module", "user_plugin_vqa"]) == 0
    listed = capsys.readouterr().out
    assert re.search(r"plugin_module_vqa +a benchmark from outside roma  \(me/PluginVQA \[test\]\)", listed)
    config = SweepConfig(
        model="unused",
        out=str(tmp_path / "run"),
        benchmarks="plugin_module_vqa",
        benchmark_module="user_plugin_vqa",
        data_dir=str(_write_data(tmp_path / "data")),
    )
    data = SweepRunner(config).benchmarks[0].load()  # no model is loaded before the first batch
    assert [(s.sample_id, s.gold) for s in data] == [("1", "2")]
    assert data.load_images(data[0])[0].size == IMAGE_SIZE


def test_benchmark_module_option_errors_name_the_module(isolated_registry, tmp_path, monkeypatch):
    _module_on_path(tmp_path / "code", monkeypatch, {"user_plugin_empty.py": "X = 1\n"})
    with pytest.raises(
        BenchmarkLoadError, match=r"'user_plugin_missing' cannot be imported \(is its folder on"
    ):
        registry.import_benchmark_modules("user_plugin_missing")
    with pytest.raises(
        BenchmarkLoadError, match=r"'user_plugin_empty' was imported but registered no benchmark"
    ):
        registry.import_benchmark_modules("user_plugin_empty")


def test_benchmark_module_option_reaches_the_probe(
    isolated_registry, tiny_qwen3_vl_path, tmp_path, monkeypatch
):
    from roma.evaluation.probe import ProbeConfig, _Prober

    files = {"user_plugin_probe.py": _plugin_source("plugin_probe_vqa", decorate=True)}
    _module_on_path(tmp_path / "code", monkeypatch, files)
    config = ProbeConfig(
        model=str(tiny_qwen3_vl_path),
        out=str(tmp_path / "probe"),
        benchmarks="plugin_probe_vqa",
        benchmark_module="user_plugin_probe",
        conditions="gaussian_blur",
        device="cpu",
        progress=False,
    )
    assert [b.name for b in _Prober(config).benchmarks] == ["plugin_probe_vqa"]


def _install_distribution(site: Path, name: str, entry_points: str) -> None:
    """What ``pip install`` leaves for a distribution: a ``*.dist-info`` folder with ``entry_points.txt``."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[roma.benchmarks]\n{entry_points}\n")


def test_installed_entry_points_register_benchmarks_without_an_import(
    isolated_registry, tmp_path, monkeypatch
):
    files = {
        "user_plugin_class.py": _plugin_source("plugin_class_vqa", decorate=False),
        "user_plugin_module.py": _plugin_source("plugin_module_ep_vqa", decorate=True),
    }
    site = _module_on_path(tmp_path / "site", monkeypatch, files)
    _install_distribution(
        site,
        "roma_user_plugins",
        "class_vqa = user_plugin_class:PluginVQA\nmodule_vqa = user_plugin_module",
    )

    assert {"plugin_class_vqa", "plugin_module_ep_vqa"} <= set(list_benchmarks())
    data = get_benchmark("plugin_class_vqa", data_dir=_write_data(tmp_path / "data")).load()
    assert [(s.sample_id, s.gold) for s in data] == [("1", "2")]
    assert type(get_benchmark("plugin-module-ep-vqa")).__module__ == "user_plugin_module"


def test_a_broken_entry_point_names_itself_and_its_distribution(isolated_registry, tmp_path, monkeypatch):
    site = _module_on_path(tmp_path / "site", monkeypatch, {"user_plugin_not_a_bench.py": "VALUE = 3\n"})
    _install_distribution(site, "roma_broken_plugin", "broken = user_plugin_nowhere")
    with pytest.raises(
        BenchmarkLoadError,
        match=r"plugin 'broken = user_plugin_nowhere' \(entry point group 'roma.benchmarks' of distribution "
        r"'roma_broken_plugin'\) failed to load: ModuleNotFoundError",
    ):
        get_benchmark("no_such_benchmark")
    _install_distribution(
        _module_on_path(tmp_path / "site_2", monkeypatch, {}),
        "roma_odd_plugin",
        "odd = user_plugin_not_a_bench:VALUE",
    )
    with pytest.raises(
        BenchmarkLoadError, match=r"'odd = user_plugin_not_a_bench:VALUE' .* names a int, expected a"
    ):
        list_benchmarks()
