"""The restatement step: its data (English only), training a restater on a tiny Gemma-3, loading it beside
an action adapter without disturbing which adapter is live, and the policy's restate call."""

from __future__ import annotations

import json
import math

import pytest
import torch

from core.language.restate import answers, canonical, instructions, restate_pairs, restate_prompt
from core.robot.tasks import all_tasks

torch.set_num_threads(1)


def test_pairs_are_english_rewordings_of_canonical_instructions():
    train, held = restate_pairs()
    canon = set(instructions())
    assert len(canon) == len(all_tasks())
    assert {i for _, i in train + held} <= canon
    assert {(i, i) for i in canon} <= set(train)  # every instruction restates as itself
    assert not {c for c, _ in held} & {c for c, _ in train}  # held-out wordings never trained
    assert 0.05 < len(held) / (len(train) + len(held)) < 0.3
    assert all(c.isascii() for c, _ in train + held)
    assert restate_pairs(0.0)[1] == []
    with pytest.raises(ValueError):
        restate_pairs(1.0)


def test_prompt_and_canonical_forms():
    assert restate_prompt("  recoge   el bloque rojo ").endswith(": recoge el bloque rojo")
    with pytest.raises(ValueError, match="empty"):
        restate_prompt("   ")
    assert canonical("Pick up the red block.") == "pick up the red block"
    assert canonical("recoge el bloque rojo") is None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.model_fixtures import tiny_gemma3

    return tiny_gemma3(tmp_path_factory.mktemp("g3"))


@pytest.fixture(scope="module")
def restater_dir(tiny, tmp_path_factory):
    from recipes.restater import RestaterConfig, build

    out = tmp_path_factory.mktemp("r") / "restate"
    build(RestaterConfig(steps=3, batch_size=2, r=4, lr=1e-3, out=out), base=str(tiny))
    return out


def test_a_built_restater_is_a_small_fp16_peft_folder_with_a_measured_card(restater_dir):
    from safetensors.torch import load_file

    from core.model.adapter_files import read_card, validate_adapter_dir

    cfg = validate_adapter_dir(restater_dir)
    assert cfg["r"] == 4 and cfg["base_model_name_or_path"] == "default"
    assert {t.dtype for t in load_file(str(restater_dir / "adapter_model.safetensors")).values()} == {torch.float16}
    card = read_card(restater_dir)
    assert card["data"]["languages"] == ["en", "es", "de", "zh"] and card["hyper"]["steps"] == 3
    assert card["answers"] == "tasks+open+none"
    assert 0.0 <= card["metrics"]["held_out_english_accuracy"] <= 1.0
    assert card["metrics"]["final_loss"] > 0
    json.dumps(card)


def test_training_lowers_the_answer_loss(tiny):
    from core.training.config import TrainConfig
    from core.training.model_io import add_lora, load_base
    from recipes.restater import train_restater

    torch.manual_seed(0)
    model, processor, _ = load_base(str(tiny))
    peft_model = add_lora(model, TrainConfig(lora_r=8, lora_alpha=16, lora_dropout=0.0))
    pairs = [("lift the red block", "pick up the red block"), ("shove the blue cube left", "push the blue block to the left")]
    losses = train_restater(peft_model, processor, pairs, steps=40, batch_size=2, lr=1e-2, seed=0)
    assert len(losses) == 40 and all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.25  # a tiny random model: slow, but it learns


def test_the_answer_labels_cover_only_the_answer(tiny):
    from transformers import AutoProcessor

    from recipes.restater import encode_pair

    proc = AutoProcessor.from_pretrained(tiny)
    enc = encode_pair(proc, "lift the red block", "pick up the red block")
    ids, labels = enc["input_ids"].tolist(), enc["labels"].tolist()
    assert enc["attention_mask"].tolist() == [1] * len(ids)
    answer = [t for t, y in zip(ids, labels) if y != -100]
    text = proc.tokenizer.decode(answer)
    assert text.startswith("pick up the red block") and text.endswith("<end_of_turn>")
    assert len(ids) == len(labels) and labels[0] == -100


@pytest.fixture
def loaded_two(tiny, restater_dir, tmp_path):
    """The tiny model with an action adapter active and the restater loaded beside it."""
    from core.model.adapters import activate_adapter, load_side_adapter
    from core.model.loader import load_model

    loaded = load_model(tiny, precision="fp32")
    activate_adapter(loaded, restater_dir, "action")  # any LoRA folder stands in for the action adapter
    with torch.no_grad():  # make it differ from the restater
        for n, p in loaded.model.named_parameters():
            if "lora_B.action" in n:
                p.add_(0.05)
    assert load_side_adapter(loaded.model, restater_dir, "restate")
    assert not load_side_adapter(loaded.model, restater_dir, "restate")  # once
    return loaded


def test_the_restater_is_switched_in_for_one_call_and_the_live_adapter_comes_back(loaded_two):
    from core.model.adapters import adapter_state, adapter_switched
    from core.policy.restate import rank_instructions

    model, proc = loaded_two.model, loaded_two.processor
    assert adapter_state(model) == (["action"], True)
    live = {r.text: r.logprob for r in rank_instructions(model, proc, "recoge el bloque rojo")}
    with adapter_switched(model, "restate"):
        assert adapter_state(model) == (["restate"], True)
        side = {r.text: r.logprob for r in rank_instructions(model, proc, "recoge el bloque rojo")}
    assert adapter_state(model) == (["action"], True)
    assert sorted(live) == sorted(side) == instructions()
    assert any(abs(live[k] - side[k]) > 1e-4 for k in live)  # a different adapter answered
    model.disable_adapters()  # "no adapter" in the app: stays off after a restatement
    with adapter_switched(model, "restate"):
        assert adapter_state(model)[1]
    assert adapter_state(model) == (["action"], False)
    with pytest.raises(KeyError, match="not loaded"):
        with adapter_switched(model, "nope"):
            pass


def test_the_policy_restates_only_what_is_not_canonical(loaded_two):
    from core.policy.restate import Restater
    from core.policy.vlm import VLMPolicy

    policy = VLMPolicy(loaded_two, restater=Restater("restate"))
    text = policy.restate("recoge el bloque rojo")
    assert text == policy.last_restatement[0].text and text in instructions()
    assert policy.restater.prior is not None and sorted(policy.restater.prior.instructions) == sorted(answers())
    assert policy.restate("pick up the red block") is None
    assert VLMPolicy(loaded_two).restate("recoge el bloque rojo") is None  # no restater: as typed


def test_the_shipped_restater_loads_only_for_its_model_build(tiny, restater_dir, tmp_path):
    import shutil

    from core.model.adapter_files import read_card, write_card
    from core.model.adapters import adapter_state
    from core.model.loader import load_model
    from core.policy.shipped import RESTATER_NAME as NAME
    from core.policy.shipped import load_restater

    loaded = load_model(tiny, precision="fp32")
    assert load_restater(loaded.model, tmp_path / "missing") is None
    other = tmp_path / "other-build"
    shutil.copytree(restater_dir, other)
    write_card(other, {**read_card(other), "base_fingerprint": "0" * 16})
    assert load_restater(loaded.model, other) is None
    assert load_restater(loaded.model, restater_dir) == NAME  # the card names this checkout's build
    assert NAME in loaded.model.peft_config and adapter_state(loaded.model)[1] is False  # loaded, not live


def test_installing_the_restater_computes_its_prior_once_for_the_app(tiny, restater_dir):
    from core.model.loader import load_model
    from core.policy.service import ModelService
    from core.policy.shipped import RESTATER_NAME as NAME
    from core.policy.shipped import install_restater

    service = ModelService.ready(load_model(tiny, precision="fp32"))
    assert install_restater(service, restater_dir) == NAME
    prior = service.restater.prior
    assert service.restater.name == NAME and service.restater.refuses
    assert sorted(prior.instructions) == sorted(answers())
    policy = service.policy()
    assert policy.restater is service.restater
    assert policy.restate("recoge el bloque rojo") in instructions()  # `restate` answers a task only
    assert policy.restater.prior is prior  # used as given, not computed again


def test_the_policy_understands_refuses_asks_and_completes_an_answer(tiny, restater_dir, monkeypatch):
    from core.language.restate import NONE_ANSWER
    from core.language.understand import completions
    from core.model.loader import load_model
    from core.policy.service import ModelService
    from core.policy.shipped import install_restater

    service = ModelService.ready(load_model(tiny, precision="fp32"))
    install_restater(service, restater_dir)
    policy = service.policy()
    scene = ["red block", "blue block", "bowl", "plate"]
    u = policy.understand("wave hello to the visitors", scene)
    assert u.verdict in ("act", "ask", "refuse") and set(u.scores) == {"task", "open", "none"}
    assert {r.text for r in policy.last_restatement} == set(answers()) and NONE_ANSWER in answers()
    # an exactly typed instruction skips the model; the scene check still applies
    assert policy.understand("pick up the red block", scene).verdict == "act"
    missing = policy.understand("pick up the green block", scene)
    assert missing.verdict == "refuse" and missing.missing == "green block"
    # a reply to "which block?" is ranked among the asked kind's instructions over the scene's blocks
    from core.language.understand import decide

    asked = decide("pick up the block", [("pick up the block", 0.0), (NONE_ANSWER, -100.0)], scene)
    assert asked.verdict == "ask"
    done = policy.understand("the red one", scene, pending=asked)
    assert done.verdict == "act" and done.instruction in completions("pick", ["red", "blue"])
    assert {r.text for r in policy.last_restatement} == {"pick up the red block", "pick up the blue block"}
    # the word glosses say the command names purple, which no block has; the ranking picked a known block
    from core.language.restate import PALETTE
    from core.model.rank import Ranked

    r = service.restater
    monkeypatch.setattr(r, "rank", lambda *a, **k: [Ranked("pick up the red block", 5.0), Ranked(NONE_ANSWER, -60.0)])
    monkeypatch.setattr(r, "glosses", lambda *a: {"purple": {c: 5.0 if c == "purple" else -5.0 for c in PALETTE},
                                                  "thing": dict(r.prior.colors)})
    purple = policy.understand("lift the purple thing", scene)
    assert purple.verdict == "refuse" and purple.missing == "purple object", purple
    monkeypatch.setattr(r, "glosses", lambda *a: {"red": {c: 5.0 if c == "red" else -5.0 for c in PALETTE}})
    assert policy.understand("lift the red thing", scene).verdict == "act"
    monkeypatch.undo()
    # a restater that ranks the task instructions only leaves the decision to `restate`
    service.restater.refuses = False
    assert policy.understand("wave hello", scene) is None


def test_user_adapters_cannot_take_the_restaters_name(tmp_path):
    from core.policy.shipped import RESTATER_NAME as NAME
    from core.store import StoreConfig, open_store
    from core.training.adapters import RESERVED_NAMES, AdapterRegistry

    assert NAME in RESERVED_NAMES
    store = open_store(StoreConfig(recordings_dir=tmp_path / "recordings"))
    try:
        reg = AdapterRegistry(store, tmp_path / "adapters")
        assert reg.unique_name(NAME) == f"{NAME}-2"
        assert reg.unique_name("red-block") == "red-block"
    finally:
        store.close()


def test_calibration_subtracts_the_weighted_prior():
    from core.language.restate import calibrated

    scores = {"pick up the red block": -2.0, "push the red block forward": -3.0}
    prior = {"pick up the red block": -1.0, "push the red block forward": -6.0}
    assert calibrated(scores, None)[0] == ("pick up the red block", -2.0)
    assert calibrated(scores, prior, 0.5) == [("push the red block forward", 0.0), ("pick up the red block", -1.5)]
    with pytest.raises(ValueError, match="other answers"):
        calibrated(scores, {"pick up the red block": -1.0})


def test_gloss_words_split_at_spaces_and_apostrophes_and_skip_unspaced_scripts():
    from core.language.restate import gloss_words

    assert gloss_words("mets le bloc vert sur l'assiette.") == ["mets", "le", "bloc", "vert", "sur", "l", "assiette"]
    assert gloss_words("¡Pon el bloque rojo en el cuenco!") == ["Pon", "el", "bloque", "rojo", "en", "cuenco"]
    assert gloss_words("把红色的方块放进碗里") == []  # no spaces: no word boundaries to gloss at
    assert gloss_words("rouge") == []


def test_color_evidence_takes_each_colours_best_calibrated_word():
    from core.language.restate import color_evidence

    prior = {"red": -1.0, "green": -2.0, "blue": -1.0, "yellow": -3.0}
    glosses = {"le": {"red": -1.0, "green": -2.0, "blue": -1.0, "yellow": -3.0},  # as content-free as the prior
               "vert": {"red": -1.5, "green": -0.5, "blue": -2.5, "yellow": -3.5}}
    ev = color_evidence(glosses, prior)
    assert max(ev, key=ev.get) == "green"
    assert sum(math.exp(v) for v in ev.values()) == pytest.approx(1.0)
    # best calibrated scores: red 0, green 1.5, blue 0, yellow 0 -> softmax
    z = math.log(3 + math.exp(1.5))
    assert ev == pytest.approx({"red": -z, "green": 1.5 - z, "blue": -z, "yellow": -z})
    with pytest.raises(ValueError, match="no glossed"):
        color_evidence({}, prior)


def test_colour_evidence_moves_the_ranking_by_the_moved_blocks_colour():
    from core.language.restate import GLOSS_WEIGHT, block_color, with_colors

    assert block_color("stack the red block on the green block") == "red"
    assert block_color("put the blue block in the bowl") == "blue"
    ranked = [("put the blue block in the bowl", 5.8), ("put the green block in the bowl", 3.2)]
    ev = {"red": -3.0, "green": -0.1, "blue": -2.0, "yellow": -4.0}
    assert with_colors(ranked, None) == ranked
    out = with_colors(ranked, ev)
    assert out[0] == ("put the green block in the bowl", pytest.approx(3.2 - 0.1 * GLOSS_WEIGHT))
    assert out[1] == ("put the blue block in the bowl", pytest.approx(5.8 - 2.0 * GLOSS_WEIGHT))
    assert with_colors(ranked, ev, 0.0) == ranked


def test_restate_adds_the_word_glosses_to_the_calibrated_ranking(loaded_two):
    from core.language.restate import PALETTE, calibrated, color_evidence, colors, with_colors
    from core.model.adapters import adapter_switched
    from core.policy.restate import rank_colors, rank_instructions, restate, restate_prior

    model, proc = loaded_two.model, loaded_two.processor
    with adapter_switched(model, "restate"):
        prior = restate_prior(model, proc)
        assert sorted(prior.instructions) == instructions() and sorted(prior.colors) == sorted(PALETTE)
        assert set(colors()) < set(PALETTE)  # the glosses' evidence counts the block colours only
        command = "mets le bloc vert dans le bol"
        got = [(r.text, r.logprob) for r in restate(model, proc, command, prior)]
        scores = {r.text: r.logprob for r in rank_instructions(model, proc, command)}
        glosses = {w: rank_colors(model, proc, w) for w in command.split()}
        want = with_colors(calibrated(scores, prior.instructions), color_evidence(glosses, prior.colors))
        bare = [(r.text, r.logprob) for r in restate(model, proc, command, prior, gloss=False)]
        unspaced = [(r.text, r.logprob) for r in restate(model, proc, "把绿色的方块放进碗里", prior)]
        unspaced_bare = [(r.text, r.logprob) for r in restate(model, proc, "把绿色的方块放进碗里", prior, gloss=False)]
    assert [a for a, _ in got] == [a for a, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-4)
    calib = calibrated(scores, prior.instructions)
    assert [a for a, _ in bare] == [a for a, _ in calib]
    assert [s for _, s in bare] == pytest.approx([s for _, s in calib], abs=1e-4)
    assert got != bare  # the glosses moved the scores
    assert unspaced == unspaced_bare  # nothing to gloss without spaces


def test_the_dev_wording_is_a_second_wording_of_every_task():
    from bench.phrases import LANGUAGES, command

    for lang in LANGUAGES[1:]:
        main = {command(t, lang) for t in all_tasks()}
        dev = {command(t, lang, "dev") for t in all_tasks()}
        assert len(dev) == len(all_tasks()) and not main & dev
    with pytest.raises(ValueError, match="no English"):
        command(all_tasks()[0], "en", "dev")
    with pytest.raises(ValueError, match="unknown wording"):
        command(all_tasks()[0], "fr", "third")


def test_a_restater_is_calibrated_with_the_weight_its_card_names(tmp_path):
    from core.language.restate import PRIOR_WEIGHT, calibrated
    from core.policy.shipped import restater_weight

    def card(calibration) -> object:
        folder = tmp_path / f"r{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        (folder / "card.json").write_text(json.dumps({"name": "r", "calibration": calibration}))
        return folder

    assert restater_weight(card({"neutral_command": "N/A", "prior_weight": 0.5})) == 0.5  # the English-only build
    assert restater_weight(card({"prior_weight": 0.3})) == 0.3
    assert restater_weight(card({})) == PRIOR_WEIGHT
    assert restater_weight(card({"prior_weight": "lots"})) == PRIOR_WEIGHT
    assert restater_weight(card({"prior_weight": -4})) == PRIOR_WEIGHT
    assert restater_weight(tmp_path / "missing") == PRIOR_WEIGHT
    # the weight moves the ranking: a low weight keeps a short instruction the prior favours
    scores, prior = {"pick up the red block": -1.0, "put the red block in the bowl": -1.5}, {
        "pick up the red block": -2.0, "put the red block in the bowl": -4.0}
    assert calibrated(scores, prior, 0.1)[0][0] == "pick up the red block"
    assert calibrated(scores, prior, 0.5)[0][0] == "put the red block in the bowl"
