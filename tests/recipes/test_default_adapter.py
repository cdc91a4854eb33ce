"""The shipped default adapter (export, fingerprint check, activation at start-up), the adapter-off answer
path, task-kind mixes for expert demos, cycle timing and the benchmark's multilingual commands.
Tiny random Gemma-3 model of `tests.core.training.test_training_tiny`; no real weights."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from core.model.adapter_files import read_card, validate_adapter_dir, write_card
from core.policy.config import PolicyConfig, PolicyInputs
from core.training.adapters import AdapterInfo
from core.training.config import TrainConfig
from core.training.data import DataConfig, build_dataset
from core.training.trainer import train
from tests.core.training.test_training_tiny import IMAGE_SIZE, tiny_model, tiny_processor

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def processor():
    return tiny_processor()


@pytest.fixture(scope="module")
def records():
    from core.training.sources import expert_episodes

    return list(expert_episodes([0, 1, 2], kind=("pick", "put_in"), image_size=IMAGE_SIZE))


@pytest.fixture(scope="module")
def trained(records, processor, tmp_path_factory):
    split = build_dataset(records, DataConfig(image_size=IMAGE_SIZE, max_entries=3, val_fraction=0.3))
    cfg = TrainConfig(base_model="tiny", max_steps=3, batch_size=2, grad_accum=1, lr=1e-2, checkpoint_every=0)
    result = train(cfg, split.train, tmp_path_factory.mktemp("run"), model=tiny_model(processor), processor=processor)
    write_card(result.adapter_dir, {"name": "tiny", "base_model": "/some/build/dir", "training_job_id": 3,
                                    "metrics": {"vqa_retention": 0.5, "action_parse_rate": 1.0}})
    return result.adapter_dir, split


def logits(model, processor, sample) -> torch.Tensor:
    from core.training.collate import ChatEncoder

    with torch.no_grad():
        return model(**ChatEncoder(processor).prompt_inputs(sample)).logits


def test_expert_demos_cycle_through_a_mix_of_task_kinds(records):
    assert records[0].instruction.startswith("pick up the ")
    assert records[1].instruction.startswith("put the ") and records[1].instruction.endswith(" in the bowl")
    assert records[2].instruction.startswith("pick up the ")


def test_job_spec_rejects_unknown_task_kinds():
    from core.training.errors import JobError
    from core.training.jobspec import DataSpec, JobConfig

    spec = DataSpec(expert_seeds=(1, 2), expert_kind=["pick", "stack"])
    assert JobConfig.from_dict(JobConfig("mix", data=spec).to_dict()).data.expert_kind == ("pick", "stack")
    with pytest.raises(JobError, match="unknown expert task kind"):
        DataSpec(expert_seeds=(1,), expert_kind=("pick", "juggle"))


def test_export_halves_the_weights_and_drops_machine_paths(trained, tmp_path):
    from safetensors.torch import load_file

    from recipes.default_adapter import NAME, WEIGHTS, export

    src, _ = trained
    out = export(src, tmp_path / "adapter", {"base_fingerprint": "abc123", "data": {"camera": "wrist"}})
    validate_adapter_dir(out)
    a, b = load_file(str(src / WEIGHTS)), load_file(str(out / WEIGHTS))
    assert a.keys() == b.keys() and all(v.dtype == torch.float16 for v in b.values())
    assert all(torch.allclose(a[k], b[k].float(), atol=1e-3, rtol=1e-3) for k in a)
    card = read_card(out)
    assert card["name"] == NAME and card["base_fingerprint"] == "abc123" and "training_job_id" not in card
    assert card["data"] == {**read_card(src).get("data", {}), "camera": "wrist"}  # merged into the job's data
    assert AdapterInfo(NAME, out, "default", card=card).inputs.camera == "wrist"
    assert AdapterInfo(NAME, out, "default").inputs.camera == "front"  # cards from before the field
    assert not AdapterInfo(NAME, out, "default", card=card).inputs.robot_state  # the job was trained without it
    assert PolicyConfig.from_card({"data": {"camera": "wrist", "robot_state": True}}).inputs == PolicyInputs(
        camera="wrist", robot_state=True)
    assert PolicyConfig.from_card({}) == PolicyConfig()
    assert "/some/build" not in (out / "README.md").read_text() and "/some/build" not in json.dumps(card)
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == "default"
    assert not (tmp_path / "adapter.tmp").exists()


def test_the_shipped_adapter_is_activated_and_registered_only_for_a_matching_build(trained, processor, tmp_path,
                                                                                    monkeypatch):
    from core.model import adapters
    from core.model.loader import LoadedModel
    from core.policy.service import ModelService
    from core.policy.shipped import install_adapter
    from core.store import StoreConfig, open_store
    from core.training.service import TrainingService
    from recipes import default_adapter as da

    src, split = trained
    shipped = da.export(src, tmp_path / "assets-adapter",
                        {"base_fingerprint": "build-A", "data": {"camera": "wrist", "robot_state": True}})
    store = open_store(StoreConfig(recordings_dir=tmp_path / "rec"))
    svc = TrainingService(store, jobs_root=tmp_path / "jobs", adapters_root=tmp_path / "adapters", monitor=False)
    try:
        app = ModelService.ready(LoadedModel(tiny_model(processor), processor, "tiny", "cpu", "fp32", 0.0))
        monkeypatch.setattr(adapters, "base_fingerprint", lambda: "build-B")
        assert install_adapter(app, shipped) is None and app.adapter == "none"  # another vision build
        assert not svc.register_shipped(shipped) and svc.list_adapters() == []
        assert install_adapter(app, tmp_path / "nothing-here") is None

        monkeypatch.setattr(adapters, "base_fingerprint", lambda: "build-A")
        base = logits(app.loaded.model, processor, split.val[0])
        assert install_adapter(app, shipped) == da.NAME and app.adapter == da.NAME
        assert app.adapter_retention == 0.5  # from the card's evaluation
        assert app.config.camera == "wrist"  # the loop shows the model the camera it was trained on
        assert app.config.robot_state  # ... and gives it the robot's state when it was trained with it
        assert not torch.allclose(logits(app.loaded.model, processor, split.val[0]), base)
        assert svc.register_shipped(shipped) and svc.register_shipped(shipped)  # a second start: once
        assert [a.name for a in svc.list_adapters()] == [da.NAME]
        assert svc.activate_adapter(app, None) is None and app.adapter == "none" and app.config == PolicyConfig()
        assert svc.activate_adapter(app, da.NAME) == da.NAME and app.config.camera == "wrist"  # through the registry

        # a new version ships other weights and card: the registered copy is replaced, not kept
        newer = da.export(src, tmp_path / "assets-adapter-2",
                          {"base_fingerprint": "build-A", "data": {"camera": "front", "grounded": True}})
        weights = newer / da.WEIGHTS
        weights.write_bytes(weights.read_bytes()[:-1] + bytes([weights.read_bytes()[-1] ^ 1]))
        assert svc.register_shipped(newer)
        assert [a.name for a in svc.list_adapters()] == [da.NAME]
        assert (Path(svc.list_adapters()[0].path) / da.WEIGHTS).read_bytes() == weights.read_bytes()
        assert install_adapter(app, newer) == da.NAME
        assert app.config.grounded and app.config.camera == "front"
        assert not app.lock.locked()
    finally:
        svc.close()
        store.close()


def test_questions_use_the_adapter_off_path_when_retention_is_low(trained, processor):
    from core.model.adapters import activate_adapter, adapters_off
    from core.model.loader import LoadedModel
    from core.policy.service import ModelService

    src, split = trained
    sample = split.val[0]
    model = tiny_model(processor)
    base = logits(model, processor, sample)
    activate_adapter(model, src, "tiny")
    tuned = logits(model, processor, sample)
    with adapters_off(model, True):
        assert torch.allclose(logits(model, processor, sample), base, atol=1e-6)
    assert torch.allclose(logits(model, processor, sample), tuned, atol=1e-6)  # back on after the call

    ms = ModelService.ready(LoadedModel(model, processor, "tiny", "cpu", "fp32", 0.0))
    assert ms.answer_route() == (False, "the base model (no action adapter active)")
    ms.adapter, ms.adapter_retention = "tiny", 0.5
    off, who = ms.answer_route()
    assert off and "switched off" in who and "50%" in who
    ms.adapter_retention = 0.97
    off, who = ms.answer_route()
    assert not off and "tiny" in who and "97%" in who
    ms.adapter_retention = None  # a card without a VQA measurement: not trusted with scene questions
    off, who = ms.answer_route()
    assert off and "not measured" in who


def test_on_ready_hooks_run_after_loading_and_a_failing_hook_keeps_the_model(monkeypatch):
    from core.policy import service as svc_mod

    monkeypatch.setattr(svc_mod, "load_model", lambda *a, **k: type("L", (), {
        "name": "fake", "load_s": 0.1, "precision_label": "fp32"})())
    ms = svc_mod.ModelService()
    seen = []
    ms.on_ready(lambda: (_ for _ in ()).throw(RuntimeError("adapter broke")))
    ms.on_ready(lambda: seen.append(ms.loaded.name))
    ms.start()
    st = ms.wait(5)
    assert st.state == "ready" and seen == ["fake"]
    assert ms.reader is None and ms.layout is None  # no scene reader was installed: questions go bare


def test_cycle_times_span_from_the_request_to_the_parsed_chunk():
    from core.control.autonomous import AutoEvent
    from core.policy.rollout import cycle_times

    ev = [AutoEvent("subtasks", "", 1.0), AutoEvent("plan", "", 1.5), AutoEvent("actions", "", 3.0),
          AutoEvent("verify", "", 5.0), AutoEvent("retry", "", 5.1), AutoEvent("plan", "", 5.4),
          AutoEvent("malformed", "", 6.0), AutoEvent("actions", "", 7.1), AutoEvent("verify", "", 9.0),
          AutoEvent("hold", "", 9.5)]
    assert cycle_times(ev) == pytest.approx([2.0, 2.0])


def test_benchmark_commands_name_the_block_in_every_language():
    from bench.phrases import COLORS, LANGUAGES, command
    from core.robot.tasks import Task

    for kind in ("pick", "put_in"):
        task = Task(kind, "blue block", "bowl" if kind == "put_in" else None)
        words = {lang: command(task, lang) for lang in LANGUAGES}
        assert words["en"] == task.instruction
        assert all(COLORS[lang]["blue"] in words[lang] for lang in LANGUAGES if lang != "en")
        assert len(set(words.values())) == len(LANGUAGES)
    stack = Task("stack", "red block", "blue block")
    for lang in LANGUAGES[1:]:
        assert COLORS[lang]["red"] in command(stack, lang) and COLORS[lang]["blue"] in command(stack, lang)
    with pytest.raises(ValueError, match="no 'it' wording"):
        command(stack, "it")


def test_shipped_adapter_if_present_is_a_valid_peft_folder_for_this_build():
    from core.model.loader import assets_present
    from core.policy.shipped import ADAPTER_DIR as ASSET_DIR
    from core.policy.shipped import WEIGHTS, matches_base

    if not (ASSET_DIR / WEIGHTS).is_file():
        pytest.skip("no default adapter shipped in this checkout")
    cfg = validate_adapter_dir(ASSET_DIR)
    assert cfg["r"] == 16 and read_card(ASSET_DIR)["metrics"]
    assert Path(ASSET_DIR / WEIGHTS).stat().st_size < 20e6
    if assets_present():
        assert matches_base(ASSET_DIR), "assets/adapter was trained on another build of the default model"


@pytest.mark.parametrize(("plan", "phase"), [
    ("move forward and slightly right, then down", "approach"),
    ("move down, then close the gripper", "descend"),
    ("move down and slightly forward, then down", "approach"),
    ("close the gripper", "close"),
    ("move up", "other"),
    ("open the gripper, then move up", "other"),
])
def test_plan_fit_reads_the_phase_of_a_grasp_plan(plan, phase):
    from bench.heldout import grasp_phase

    assert grasp_phase(plan) == phase


def test_a_rebuilt_default_model_gets_a_new_adapter_work_folder():
    """The build resumes from its work folder: a folder of the same settings but another vision build
    must not be resumed (or re-exported under the new build's fingerprint)."""
    from recipes.default_adapter import DefaultAdapterConfig, job_name

    small = DefaultAdapterConfig(demos=10, max_steps=5, epochs=1.0, lr=1e-4, threads=1, eval_samples=4, vqa_scenes=2)
    cfg = small.job_config().to_dict()
    assert job_name(cfg, "aaaa") == job_name(cfg, "aaaa")
    assert job_name(cfg, "aaaa") != job_name(cfg, "bbbb")
    other = dataclasses.replace(small, demos=11).job_config().to_dict()
    assert job_name(other, "aaaa") != job_name(cfg, "aaaa")
    with_state = dataclasses.replace(small, inputs=PolicyInputs(robot_state=True)).job_config().to_dict()
    assert job_name(with_state, "aaaa") != job_name(cfg, "aaaa")
    # a config written before `inputs` (camera, robot_state, grounded beside the other fields) and before
    # window_stride: the same work folder
    flat = {k: v for k, v in cfg["data"].items() if k not in ("inputs", "window_stride")}
    older = {**cfg, "data": {**flat, "camera": "front", "grounded": False}}
    assert job_name(older, "aaaa") == job_name(cfg, "aaaa")


def test_the_card_command_is_the_config_without_the_folders():
    from recipes.cli import parse
    from recipes.default_adapter import DefaultAdapterConfig

    words = ["--grounded", "--direct", "--max-entries", "1", "--out", "x/y", "--work-dir=z", "--max-steps", "200",
             "--export-only"]
    config = parse(DefaultAdapterConfig, words)
    assert config.inputs == PolicyInputs(grounded=True) and config.job_config().data.inputs is config.inputs
    assert config.command() == "python -m recipes.default_adapter --max-steps 200 --max-entries 1 --grounded --direct"
    assert parse(DefaultAdapterConfig, config.command().split()[3:]) == DefaultAdapterConfig(
        max_steps=200, max_entries=1, inputs=PolicyInputs(grounded=True), direct=True)
