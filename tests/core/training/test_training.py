"""Training: dataset builder, answer-only labels, loss, LoRA placement, exact resume, cancel, adapters,
bad inputs. Uses the tiny random Gemma-3 model of `tests.core.training.test_training_tiny` and three expert demos."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from core.model.adapter_files import validate_adapter_dir
from core.model.adapters import activate_adapter, active_adapter, deactivate_adapters
from core.policy.config import PolicyInputs
from core.training.action_tokens import ActionTokenCodec
from core.training.adapters import AdapterRegistry
from core.training.collate import IGNORE, ChatEncoder, collate
from core.training.config import TrainConfig
from core.training.data import DataConfig, build_dataset, build_samples, export_jsonl, load_jsonl, split_episodes
from core.training.errors import AdapterError, DataError, NoEpisodesError, NoVerbalizationError
from core.training.jobspec import DataSpec, JobConfig
from core.training.trainer import AnswerLoss, Hooks, train
from tests.core.training.test_training_tiny import IMAGE_SIZE, tiny_model, tiny_processor

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def records():
    from core.training.sources import expert_episodes

    return list(expert_episodes([0, 1, 2], image_size=IMAGE_SIZE))


@pytest.fixture(scope="module")
def split(records):
    return build_dataset(records, DataConfig(image_size=IMAGE_SIZE, max_entries=3, val_fraction=0.3))


@pytest.fixture(scope="module")
def processor():
    return tiny_processor()


def small_config(**kw) -> TrainConfig:
    base = dict(base_model="tiny", max_steps=6, batch_size=2, grad_accum=2, lr=3e-3, checkpoint_every=0,
                max_grad_norm=1.0)
    return TrainConfig(**{**base, **kw})


def logits(model, processor, sample) -> torch.Tensor:
    inputs = ChatEncoder(processor).prompt_inputs(sample)
    with torch.no_grad():
        return model(**inputs).logits


# ---- data -------------------------------------------------------------------------------------------
def test_instruction_paraphrases_add_subtask_questions_with_the_same_answer(records):
    plain = build_samples(records, DataConfig(image_size=IMAGE_SIZE, max_entries=3))
    more = build_samples(records, DataConfig(image_size=IMAGE_SIZE, max_entries=3, instruction_paraphrases=2))
    sub = [s for s in plain if s.kind == "subtasks"]
    extra = [s for s in more if s.kind == "subtasks"]
    assert len(extra) == 3 * len(sub) and len(more) == len(plain) + 2 * len(sub)
    for s in sub:
        same = [x for x in extra if x.episode == s.episode]
        assert {x.target for x in same} == {s.target} and {x.step for x in same} == {s.step}
        assert len({x.prompt for x in same}) == 3  # the recorded wording and two others
    with pytest.raises(DataError):
        DataConfig(instruction_paraphrases=-1)


def test_robot_state_questions_carry_the_recorded_state_and_need_it(records):
    import dataclasses

    from core.language.prompts import state_text

    rec = records[0]
    assert len(rec.states) == rec.n_steps
    got = build_samples([rec], DataConfig(image_size=IMAGE_SIZE, max_entries=3, inputs=PolicyInputs(robot_state=True), window_stride=2))
    plain = build_samples([rec], DataConfig(image_size=IMAGE_SIZE, max_entries=3))
    asked = [s for s in got if s.kind in ("plan", "actions", "done")]  # about the frame, not a given list
    assert all(s.prompt.count("Gripper: ") == 1 and state_text(*rec.states[s.step]) in s.prompt for s in asked)
    assert all(rec.state_line(s.step) in s.prompt for s in asked)  # what the benches ask with
    assert sum(s.kind == "actions" for s in got) > sum(s.kind == "actions" for s in plain)  # overlapping windows
    with pytest.raises(DataError, match="no recorded robot state"):
        dataclasses.replace(rec, states=()).state_line(0)
    with pytest.raises(DataError, match="no recorded robot state"):
        build_samples([dataclasses.replace(rec, states=())], DataConfig(image_size=IMAGE_SIZE, inputs=PolicyInputs(robot_state=True)))
    with pytest.raises(DataError, match="window_stride"):
        DataConfig(window_stride=0)


def test_dataset_has_every_factor_and_splits_by_episode(split, tmp_path):
    kinds = {s.kind for s in split.train + split.val}
    assert kinds == {"subtasks", "plan", "actions", "done", "direction"}
    assert split.train and split.val
    assert not set(split.train_episodes) & set(split.val_episodes)
    assert {s.episode for s in split.val} == set(split.val_episodes)
    for s in split.train[:5]:
        assert s.image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and s.image.dtype == np.uint8
    done = [s.target for s in split.train if s.kind == "done"]
    assert set(done) == {"yes", "no"}

    export_jsonl(split, tmp_path / "ds")
    back = load_jsonl(tmp_path / "ds")
    assert [(s.episode, s.kind, s.prompt, s.target) for s in back.train] == \
        [(s.episode, s.kind, s.prompt, s.target) for s in split.train]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(back.train, split.train, strict=True))
    first = json.loads((tmp_path / "ds" / "samples.jsonl").read_text().splitlines()[0])
    assert first["messages"][1]["role"] == "assistant" and (tmp_path / "ds" / first["images"][0]).is_file()


def test_split_is_deterministic_and_by_fraction():
    keys = [f"episode-{i}" for i in range(40)]
    train1, val1 = split_episodes(keys, 0.2, seed=3)
    assert split_episodes(list(reversed(keys)), 0.2, seed=3) == (train1, val1)
    assert len(val1) == 8 and not set(train1) & set(val1) and len(train1) + len(val1) == 40
    assert split_episodes(keys, 0.2, seed=4) != (train1, val1)
    assert len(split_episodes(["a", "b"], 0.1)[1]) == 1  # two episodes: one is held out
    assert split_episodes(["a"], 0.5) == (["a"], [])


def test_labels_only_on_the_answer(split, processor):
    enc = ChatEncoder(processor)
    tok = processor.tokenizer
    for sample in split.train[:6]:
        e = enc.encode(sample)
        labels, ids = e["labels"], e["input_ids"]
        answer = labels != IGNORE
        where = answer.nonzero().flatten().tolist()
        first, count = where[0], len(where)
        assert where == list(range(first, first + count))  # one contiguous span ...
        assert first + count == len(ids) - 1  # ... up to <end_of_turn>; the template's final "\n" is not trained
        assert torch.equal(labels[answer], ids[answer])
        assert tok.decode(labels[answer]) == sample.target + "<end_of_turn>"
        assert "<start_of_turn>model\n" in tok.decode(ids[:first])
    batch = collate([enc.encode(s) for s in split.train[:3]], enc.pad_id)
    lengths = [enc.encode(s)["input_ids"].shape[0] for s in split.train[:3]]
    assert batch["input_ids"].shape == (3, max(lengths))
    for i, n in enumerate(lengths):
        assert (batch["labels"][i, n:] == IGNORE).all() and (batch["attention_mask"][i, n:] == 0).all()


def test_action_tokens_baseline_labels_are_codec_ids(split, processor):
    codec = ActionTokenCodec.for_tokenizer(processor.tokenizer, n_bins=64)
    enc = ChatEncoder(processor, codec)
    sample = next(s for s in split.train if s.kind == "actions")
    e = enc.encode(sample)
    labelled = e["labels"][e["labels"] != IGNORE].tolist()
    end = processor.tokenizer.convert_tokens_to_ids("<end_of_turn>")
    assert labelled[-1] == end
    from core.language import parse

    assert codec.decode(labelled[:-1]) == parse(sample.target)
    assert not set(labelled[:-1]) & set(processor.tokenizer.all_special_ids)


def test_decision_entries_weigh_more_in_the_loss(split, processor):
    from core.language.decisions import decision_spans

    sample = next(s for s in split.train if s.kind == "actions" and len(decision_spans(s.target)) >= 2)
    plain, weighted = ChatEncoder(processor).encode(sample), ChatEncoder(processor, decision_weight=5.0).encode(sample)
    assert "loss_weights" not in plain and torch.equal(plain["labels"], weighted["labels"])
    w, labels = weighted["loss_weights"], weighted["labels"]
    assert (w[labels == IGNORE] == 0).all() and set(w[labels != IGNORE].tolist()) == {1.0, 5.0}
    tok = processor.tokenizer
    heavy = tok.decode(labels[w == 5.0])
    for a, b in decision_spans(sample.target)[:-1]:  # every decision entry's text is in the heavy tokens
        assert sample.target[a + 1 : b - 1] in heavy
    assert heavy.rstrip().endswith("]")  # ... and the list's end
    other = next(s for s in split.train if s.kind != "actions")
    assert "loss_weights" not in ChatEncoder(processor, decision_weight=5.0).encode(other)
    batch = collate([weighted, ChatEncoder(processor, decision_weight=5.0).encode(other)], 0)
    assert batch["loss_weights"].shape == batch["labels"].shape
    model = tiny_model(processor)
    with torch.no_grad():
        ours, _ = AnswerLoss(model)(batch)
        logits_ = model(**{k: v for k, v in batch.items() if k not in ("labels", "loss_weights")}).logits
    ce = torch.nn.functional.cross_entropy(logits_[:, :-1].transpose(1, 2).float(), batch["labels"][:, 1:],
                                           ignore_index=IGNORE, reduction="none")
    assert torch.allclose(ours, (ce * batch["loss_weights"][:, 1:]).sum(), rtol=1e-4)


# ---- the loss and LoRA ------------------------------------------------------------------------------
def test_head_at_answer_positions_equals_the_full_loss(split, processor):
    model = tiny_model(processor)
    enc = ChatEncoder(processor)
    batch = collate([enc.encode(s) for s in split.train[:3]], enc.pad_id)
    with torch.no_grad():
        ours, n = AnswerLoss(model)(batch)
        full = model(**batch).loss
    assert torch.allclose(ours / n, full, atol=1e-5)


def test_few_steps_reduce_the_loss_and_lora_is_on_the_language_model_only(split, processor, tmp_path):
    model = tiny_model(processor)
    samples = split.train[:4]
    enc = ChatEncoder(processor)
    batch = collate([enc.encode(s) for s in samples], enc.pad_id)
    with torch.no_grad():
        before, n = AnswerLoss(model)(batch)
    result = train(small_config(max_steps=8, batch_size=4, grad_accum=1, lr=1e-2, lora_dropout=0.0), samples,
                   tmp_path / "run", model=model, processor=processor)
    pm = result.model
    with torch.no_grad():
        after, _ = AnswerLoss(pm)(batch)
    assert float(after / n) < float(before / n) - 0.05
    trainable = [name for name, p in pm.named_parameters() if p.requires_grad]
    assert trainable and all("language_model" in name and "lora_" in name for name in trainable)
    assert len(trainable) == 2 * 7 * 2  # A and B x 7 projections x 2 layers
    assert not any("vision" in name for name, p in pm.named_parameters() if "lora_" in name)


def test_cancel_then_resume_is_identical_to_an_uninterrupted_run(split, processor, tmp_path):
    from safetensors.torch import load_file

    cfg = small_config(max_steps=6, checkpoint_every=2)
    straight = train(cfg, split.train, tmp_path / "a", model=tiny_model(processor), processor=processor)
    stop = {"now": False}

    def on_progress(p):
        if p.step == 3:
            stop["now"] = True

    first = train(cfg, split.train, tmp_path / "b", model=tiny_model(processor), processor=processor,
                  hooks=Hooks(on_progress=on_progress, should_cancel=lambda: stop["now"]))
    assert first.status == "cancelled" and first.step == 3 and first.adapter_dir is None
    assert first.checkpoint is not None and first.checkpoint.name == "step-00000003"
    second = train(cfg, split.train, tmp_path / "b", model=tiny_model(processor), processor=processor)
    assert second.status == "done" and second.step == 6
    assert second.loss_history == straight.loss_history
    a = load_file(str(straight.adapter_dir / "adapter_model.safetensors"))
    b = load_file(str(second.adapter_dir / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_adapter_loads_back_with_peft_and_switches_on_a_loaded_model(split, processor, tmp_path):
    from peft import PeftModel

    result = train(small_config(max_steps=4, lr=1e-2), split.train, tmp_path / "run", model=tiny_model(processor),
                   processor=processor)
    validate_adapter_dir(result.adapter_dir)
    sample = split.val[0]
    base = logits(tiny_model(processor), processor, sample)
    peft = PeftModel.from_pretrained(tiny_model(processor), str(result.adapter_dir))
    tuned = logits(peft, processor, sample)
    assert not torch.allclose(base, tuned)

    app_model = tiny_model(processor)  # the app's loaded model: switch without reloading it
    activate_adapter(app_model, result.adapter_dir, "first")
    assert active_adapter(app_model) == "first"
    assert torch.allclose(logits(app_model, processor, sample), tuned, atol=1e-5)
    deactivate_adapters(app_model)
    assert active_adapter(app_model) is None
    assert torch.allclose(logits(app_model, processor, sample), base, atol=1e-6)


# ---- adapters: registry, export/import, refusals -----------------------------------------------------
@pytest.fixture
def store(tmp_path):
    from core.store import StoreConfig, open_store

    s = open_store(StoreConfig(recordings_dir=tmp_path / "recordings"))
    yield s
    s.close()


def _fake_adapter(folder: Path) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2, "lora_alpha": 4}))
    save_file({"base_model.model.x.lora_A.weight": torch.zeros(2, 4)}, str(folder / "adapter_model.safetensors"))
    return folder


def test_registry_export_import_and_refusals(store, tmp_path):
    reg = AdapterRegistry(store, tmp_path / "adapters")
    info = reg.add(_fake_adapter(tmp_path / "src"), "my adapter/../x", base_model="tiny")
    assert "/" not in info.name and info.name.startswith("my-adapter")
    assert info.path.parent == reg.root and [a.name for a in reg.list()] == [info.name]
    archive = reg.export(info.name, tmp_path / "out.zip")
    again = reg.import_(archive, name="copy")
    assert again.name == "copy" and (again.path / "adapter_model.safetensors").is_file()

    pickled = _fake_adapter(tmp_path / "pickled")
    torch.save({"w": torch.zeros(1)}, pickled / "adapter_model.bin")
    with pytest.raises(AdapterError, match="pickle"):
        reg.import_(pickled)
    renamed = _fake_adapter(tmp_path / "renamed")
    torch.save({"w": torch.zeros(1)}, renamed / "notes.json")  # a zip/pickle hiding behind .json
    with pytest.raises(AdapterError, match="pickled or zipped"):
        validate_adapter_dir(renamed)
    not_peft = tmp_path / "full-model"
    not_peft.mkdir()
    (not_peft / "config.json").write_text("{}")
    with pytest.raises(AdapterError, match="not a PEFT adapter"):
        reg.import_(not_peft)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("a/adapter_config.json", "{}")
        z.writestr("a/../../escape.json", "{}")
    with pytest.raises(AdapterError, match="refusing|escapes"):
        reg.import_(evil)
    assert not (tmp_path / "escape.json").exists()
    assert len(reg.list()) == 2


def test_bad_inputs_give_clear_errors(store, records):
    with pytest.raises(NoEpisodesError):
        build_samples([])
    with pytest.raises(NoEpisodesError, match="no episodes selected"):
        JobConfig("empty", data=DataSpec())
    from core.store.models import Episode
    from core.training.sources import store_episodes

    with pytest.raises(NoEpisodesError):
        store_episodes(store, [])
    with store.session() as s:
        ep = Episode(uid="ep-unverbalized", status="saved")
        s.add(ep)
        s.flush()
        eid = ep.id
    with pytest.raises(NoVerbalizationError, match="ep-unverbalized"):
        store_episodes(store, [eid])
    with pytest.raises(Exception, match="does not exist"):
        store_episodes(store, [eid + 100])
    with pytest.raises(Exception, match="invalid training config"):
        TrainConfig(lr=0)


def test_sim_rollout_hook_runs_the_closed_loop(processor):
    from core.training.evaluate import sim_success

    result = sim_success(tiny_model(processor), processor, episodes=1, time_limit_s=20, image_size=IMAGE_SIZE)
    assert result.n == 1 and result.success_rate in (0.0, 1.0)
    ep = result.episodes[0]
    assert ep.model_calls >= 2 and ep.loop_result in ("success", "failed", "cancelled", "error")


def test_service_switches_the_apps_model_between_adapters(split, processor, store, tmp_path):
    from core.model.loader import LoadedModel
    from core.policy.service import ModelService
    from core.training.service import TrainingService

    result = train(small_config(max_steps=3, lr=1e-2), split.train, tmp_path / "run", model=tiny_model(processor),
                   processor=processor)
    svc = TrainingService(store, jobs_root=tmp_path / "jobs", adapters_root=tmp_path / "adapters", monitor=False)
    info = svc.adapters.add(result.adapter_dir, "first", base_model="tiny")
    assert [a.name for a in svc.list_adapters()] == ["first"]

    app = ModelService.ready(LoadedModel(tiny_model(processor), processor, "tiny", "cpu", "fp32", 0.0))
    model = app.loaded.model
    sample = split.val[0]
    base = logits(model, processor, sample)
    assert svc.activate_adapter(app, info.name) == "first" and app.adapter == "first"
    assert not torch.allclose(logits(model, processor, sample), base)
    assert svc.activate_adapter(app, None) is None and app.adapter == "none"
    assert torch.allclose(logits(model, processor, sample), base, atol=1e-6)
    assert not app.lock.locked()
    svc.close()


def test_recorded_episode_gives_samples_with_its_own_frames(store):
    """A recorded expert episode (steps + mp4 + stored verbalization) -> samples whose frames are the
    recorded frames of their steps (decoded from the video)."""
    from core.control.expert import rollout
    from core.recording import Recorder, RecorderConfig
    from core.recording.live import LiveRecording
    from core.robot.episodes import draw_task
    from core.robot.sim import SimConfig, SimRobot
    from core.training.sources import _FrameTap, store_episodes
    from core.types import Observation

    robot = SimRobot(SimConfig(image_size=64, cameras=("front",)))
    tap = _FrameTap(robot, "front")
    try:
        task = draw_task(5, robot.reset(5).scene, "pick")
        demo = rollout(tap, task, 5)
    finally:
        robot.close()
    live = LiveRecording(store, Recorder(store, RecorderConfig(flush_interval_s=0.1, min_free_bytes=1)))
    live.start(task.instruction, cameras=("front",))
    for i, step in enumerate(demo.steps):
        obs = Observation(step.t, step.ee_pos, step.ee_yaw, step.gripper, {"front": tap.frames[i]}, step.joints,
                          step.scene)
        live.on_tick(obs, step)
    saved = live.stop(True)
    assert saved.verbalization is not None, saved.note

    (record,) = store_episodes(store, [saved.result.episode_id])
    assert [p for p, _ in record.states] == [tuple(st.ee_pos) for st in demo.steps]  # the recorded robot state
    samples = build_samples([record], DataConfig(image_size=64))
    assert {s.kind for s in samples} >= {"subtasks", "plan", "actions", "done"}
    for s in samples[:6]:
        same = np.abs(s.image.astype(int) - tap.frames[s.step].astype(int)).mean()
        other_step = 0 if s.step > len(demo.steps) // 2 else len(demo.steps) - 1
        other = np.abs(s.image.astype(int) - tap.frames[other_step].astype(int)).mean()
        assert same < 6 and (s.step == other_step or same < other)


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(split, processor, tmp_path, monkeypatch):
    import errno

    from core.training import checkpoint as ck
    from core.training.errors import CheckpointError

    cfg = small_config(max_steps=4, checkpoint_every=2)
    calls = {"n": 0}
    real_save = torch.save

    def flaky_save(obj, path, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path, *a, **kw)

    monkeypatch.setattr(ck.torch, "save", flaky_save)
    with pytest.raises(CheckpointError, match="disk is full"):
        train(cfg, split.train, tmp_path / "run", model=tiny_model(processor), processor=processor)
    root = tmp_path / "run" / "checkpoints"
    assert ck.latest_checkpoint(tmp_path / "run").name == "step-00000002"
    assert not list(root.glob("*.partial"))


def test_command_line_builds_data_and_trains(tmp_path):
    from core.training.__main__ import main
    from tests.core.training.test_training_tiny import tiny_model_dir

    model_dir = tiny_model_dir(tmp_path / "tiny")
    assert main(["data", "--expert", "2", "--image-size", str(IMAGE_SIZE), "--max-entries", "4",
                 "--out", str(tmp_path / "data")]) == 0
    assert main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--model", str(model_dir),
                 "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--threads", "1"]) == 0
    validate_adapter_dir(tmp_path / "run" / "adapter")


def test_a_servo_job_keeps_its_data_recipe_through_json(tmp_path):
    from core.training.jobspec import SERVO_DATA

    cfg = JobConfig("servo", data=DataSpec(expert_seeds=(0, 1), inputs=PolicyInputs(grounded=True), **SERVO_DATA))
    cfg.save(tmp_path / "job.json")
    back = JobConfig.load(tmp_path / "job.json").data
    assert back.expert_direct and back.inputs.grounded and back.max_entries == 1 and back.window_stride == 1
    assert back.expert_start_jitter == SERVO_DATA["expert_start_jitter"]


def test_mid_entry_questions_need_one_entry_answers_and_the_robot_state(records):
    import dataclasses

    rec = records[0]
    one = build_samples([rec], DataConfig(image_size=IMAGE_SIZE, max_entries=1, window_stride=1))
    more = build_samples([rec], DataConfig(image_size=IMAGE_SIZE, max_entries=1, window_stride=1, mid_entries=2))
    assert sum(s.kind == "actions" for s in more) > sum(s.kind == "actions" for s in one)
    with pytest.raises(DataError, match="max_entries 1"):
        DataConfig(max_entries=3, mid_entries=2)
    with pytest.raises(DataError, match="mid_entries"):
        DataConfig(max_entries=1, mid_entries=-1)
    with pytest.raises(DataError, match="no recorded robot state"):
        build_samples([dataclasses.replace(rec, states=())], DataConfig(image_size=IMAGE_SIZE, max_entries=1, mid_entries=2))
