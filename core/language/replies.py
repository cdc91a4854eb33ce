"""The chat's answers when the robot will not act on a command: a refusal (what it understood, why it will
not act, what it can do) and the question back when a command fits several blocks. Pure text.

Written in English and the dev languages (es, fr, de, zh, ja); a command in another language gets the
English text (`WORDS` has no entry for it). Task names in the "I can ..." list stay in the robot's English
instructions: they are what the visitor may type.
"""

from __future__ import annotations

from collections.abc import Sequence

# Per language: the pieces of the messages. {obj}: the missing object (English name), {cmd}: the
# command as typed, {task}: the English instruction understood, {blocks}: the blocks in the scene.
WORDS: dict[str, dict[str, str]] = {
    "en": {"no_task": "I understood “{cmd}”, but that is not one of the tasks I can do, so I will not move.",
           "itself": "I understood “{cmd}”, but a block cannot go on itself, so I will not move.",
           "inside": "I understood “{cmd}”, but a block cannot go inside another block, so I will not move.",
           "missing": "I understood “{task}”, but there is no {obj} on the table, so I will not move.",
           "missing_word": "I understood “{cmd}”, but I see no “{obj}” on the table, so I will not move.",
           "can": "I can pick up a block, put it in the bowl or on the plate, push it left, right or forward, "
                  "or stack it on another block. Blocks here: {blocks}.",
           "ask": "Which block do you mean: {blocks}?", "ask_stack": "Which block goes on which: {blocks}?"},
    "es": {"no_task": "Entendí «{cmd}», pero no es una de las tareas que sé hacer, así que no me muevo.",
           "itself": "Entendí «{cmd}», pero un bloque no puede ir sobre sí mismo, así que no me muevo.",
           "inside": "Entendí «{cmd}», pero un bloque no puede ir dentro de otro bloque, así que no me muevo.",
           "missing": "Entendí «{task}», pero no hay ningún {obj} en la mesa, así que no me muevo.",
           "missing_word": "Entendí «{cmd}», pero no veo «{obj}» en la mesa, así que no me muevo.",
           "can": "Puedo recoger un bloque, ponerlo en el cuenco o en el plato, empujarlo a la izquierda, a la "
                  "derecha o hacia adelante, o apilarlo sobre otro bloque. Bloques aquí: {blocks}.",
           "ask": "¿Qué bloque: {blocks}?", "ask_stack": "¿Qué bloque va encima de cuál: {blocks}?"},
    "fr": {"no_task": "J'ai compris « {cmd} », mais ce n'est pas une des tâches que je sais faire : je ne bouge pas.",
           "itself": "J'ai compris « {cmd} », mais un bloc ne peut pas aller sur lui-même : je ne bouge pas.",
           "inside": "J'ai compris « {cmd} », mais un bloc ne peut pas aller dans un autre bloc : je ne bouge pas.",
           "missing": "J'ai compris « {task} », mais il n'y a pas de {obj} sur la table : je ne bouge pas.",
           "missing_word": "J'ai compris « {cmd} », mais je ne vois pas « {obj} » sur la table : je ne bouge pas.",
           "can": "Je peux prendre un bloc, le mettre dans le bol ou sur l'assiette, le pousser à gauche, à droite "
                  "ou vers l'avant, ou l'empiler sur un autre bloc. Blocs ici : {blocks}.",
           "ask": "Quel bloc : {blocks} ?", "ask_stack": "Quel bloc sur lequel : {blocks} ?"},
    "de": {"no_task": "Ich habe „{cmd}“ verstanden, aber das ist keine meiner Aufgaben, also bewege ich mich nicht.",
           "itself": "Ich habe „{cmd}“ verstanden, aber ein Block kann nicht auf sich selbst gestapelt werden, also "
                     "bewege ich mich nicht.",
           "inside": "Ich habe „{cmd}“ verstanden, aber ein Block passt nicht in einen anderen Block, also bewege ich "
                     "mich nicht.",
           "missing": "Ich habe „{task}“ verstanden, aber es gibt keinen {obj} auf dem Tisch, also bewege ich mich "
                      "nicht.",
           "missing_word": "Ich habe „{cmd}“ verstanden, aber ich sehe kein „{obj}“ auf dem Tisch, also bewege ich mich "
                           "nicht.",
           "can": "Ich kann einen Block aufheben, ihn in die Schüssel oder auf den Teller legen, ihn nach links, "
                  "rechts oder vorne schieben oder auf einen anderen Block stapeln. Blöcke hier: {blocks}.",
           "ask": "Welchen Block meinst du: {blocks}?", "ask_stack": "Welcher Block auf welchen: {blocks}?"},
    "zh": {"no_task": "我理解了“{cmd}”，但这不是我能做的任务，所以我不动。",
           "itself": "我理解了“{cmd}”，但方块不能放在它自己上面，所以我不动。",
           "inside": "我理解了“{cmd}”，但方块不能放进另一个方块里，所以我不动。",
           "missing": "我理解为“{task}”，但桌上没有 {obj}，所以我不动。",
           "missing_word": "我理解了“{cmd}”，但桌上没有“{obj}”，所以我不动。",
           "can": "我可以拿起方块，把它放进碗里或盘子上，向左、向右或向前推，或者叠在另一个方块上。这里的方块：{blocks}。",
           "ask": "你指的是哪个方块：{blocks}？", "ask_stack": "哪个方块放在哪个上面：{blocks}？"},
    "ja": {"no_task": "「{cmd}」と理解しましたが、それは私にできる作業ではないので、動きません。",
           "itself": "「{cmd}」と理解しましたが、ブロックをそれ自身の上には置けないので、動きません。",
           "inside": "「{cmd}」と理解しましたが、ブロックを別のブロックの中には入れられないので、動きません。",
           "missing": "「{task}」と理解しましたが、テーブルに {obj} がないので、動きません。",
           "missing_word": "「{cmd}」と理解しましたが、テーブルに「{obj}」がないので、動きません。",
           "can": "ブロックを持ち上げる、ボウルやお皿に置く、左・右・前に押す、別のブロックに積むことができます。"
                  "ここにあるブロック：{blocks}。",
           "ask": "どのブロックですか：{blocks}？", "ask_stack": "どのブロックをどれの上に積みますか：{blocks}？"},
}

# A command that would move a fixed object: {cmd} the command as typed, {obj} the object with its article.
FIXED: dict[str, tuple[str, dict[str, str]]] = {
    "en": ("I understood “{cmd}”, but {obj} stays where it is: I only move the blocks, so I will not move.",
           {"bowl": "the bowl", "plate": "the plate", "table": "the table"}),
    "es": ("Entendí «{cmd}», pero {obj} no se mueve: solo muevo los bloques, así que no me muevo.",
           {"bowl": "el cuenco", "plate": "el plato", "table": "la mesa"}),
    "fr": ("J'ai compris « {cmd} », mais {obj} reste en place : je ne déplace que les blocs, je ne bouge pas.",
           {"bowl": "le bol", "plate": "l'assiette", "table": "la table"}),
    "de": ("Ich habe „{cmd}“ verstanden, aber {obj} lässt sich nicht bewegen: ich bewege nur die Blöcke, also "
           "bewege ich mich nicht.", {"bowl": "die Schüssel", "plate": "der Teller", "table": "der Tisch"}),
    "zh": ("我理解了“{cmd}”，但{obj}是固定的：我只移动方块，所以我不动。", {"bowl": "碗", "plate": "盘子", "table": "桌子"}),
    "ja": ("「{cmd}」と理解しましたが、{obj}は動かせません。動かせるのはブロックだけなので、動きません。",
           {"bowl": "ボウル", "plate": "お皿", "table": "テーブル"}),
}

COLOUR_NAMES: dict[str, dict[str, str]] = {
    "en": {"red": "red", "green": "green", "blue": "blue", "yellow": "yellow"},
    "es": {"red": "rojo", "green": "verde", "blue": "azul", "yellow": "amarillo"},
    "fr": {"red": "rouge", "green": "vert", "blue": "bleu", "yellow": "jaune"},
    "de": {"red": "rot", "green": "grün", "blue": "blau", "yellow": "gelb"},
    "zh": {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色"},
    "ja": {"red": "赤", "green": "緑", "blue": "青", "yellow": "黄色"},
}
_OR = {"en": " or ", "es": " o ", "fr": " ou ", "de": " oder ", "zh": "还是", "ja": "か"}
_AND = {"en": " and ", "es": " y ", "fr": " et ", "de": " und ", "zh": "和", "ja": "と"}


def _words(lang: str) -> tuple[str, dict[str, str]]:
    return (lang, WORDS[lang]) if lang in WORDS else ("en", WORDS["en"])


def block_list(lang: str, blocks: Sequence[str], joined: str = "or") -> str:
    """"red, green or blue" (`joined` "and": "red, green and blue") in `lang` (English colour names for a
    colour or language it has no word for)."""
    lang, _ = _words(lang)
    names = [COLOUR_NAMES[lang].get(b, b) for b in blocks]
    if len(names) < 2:
        return "".join(names) or "-"
    sep = "、" if lang in ("zh", "ja") else ", "
    return sep.join(names[:-1]) + (_AND if joined == "and" else _OR)[lang] + names[-1]


def refuse_message(lang: str, command: str, instruction: str | None, missing: str | None,
                   skills: Sequence[str], blocks: Sequence[str], word: str | None = None) -> str:
    """Why the robot holds: the command names an object that is not on the table (`missing`), or it is
    none of the robot's tasks; then what it can do. `skills`: the lab's own task instructions (recorded
    tasks beyond the built-in ones), listed after the built-in skills. `word`: the command's own word for a
    thing that is not a block (a ball, a cup), quoted instead of `missing`."""
    lang, w = _words(lang)
    cmd = " ".join(command.split())
    if word:
        first = w["missing_word"].format(cmd=cmd, obj=word)
    else:
        first = w["missing"].format(task=instruction, obj=missing) if missing else w["no_task"].format(cmd=cmd)
    return _refusal(lang, first, skills, blocks)


def _refusal(lang: str, first: str, skills: Sequence[str], blocks: Sequence[str]) -> str:
    """⛔, why the robot holds (`first`), then what it can do: the built-in skills, the blocks here, and the
    lab's own task instructions (the first five)."""
    _, w = _words(lang)
    text = f"⛔ {first} " + w["can"].format(blocks=block_list(lang, blocks, "and"))
    if skills:
        text += " + " + "; ".join(list(skills)[:5])
    return text


def impossible_message(lang: str, command: str, why: str, skills: Sequence[str], blocks: Sequence[str]) -> str:
    """Why the robot holds when no robot could do the command (`why`: "itself", a block on itself;
    "inside", a block inside another: `core.language.cues.impossible`); then what it can do."""
    lang, w = _words(lang)
    return _refusal(lang, w[why].format(cmd=" ".join(command.split())), skills, blocks)


def fixed_message(lang: str, command: str, fixture: str, skills: Sequence[str], blocks: Sequence[str]) -> str:
    """Why the robot holds when the command would move the bowl, the plate or the table (`fixture`); then
    what it can do, as `refuse_message`."""
    lang, _ = _words(lang)
    text, names = FIXED[lang]
    first = text.format(cmd=" ".join(command.split()), obj=names.get(fixture, fixture))
    return _refusal(lang, first, skills, blocks)


def ask_message(lang: str, kind: str, blocks: Sequence[str]) -> str:
    """The question back for a command that fits several blocks (it ends in a question mark)."""
    lang, w = _words(lang)
    return w["ask_stack" if kind == "stack" else "ask"].format(blocks=block_list(lang, blocks))


__all__ = ["COLOUR_NAMES", "FIXED", "WORDS", "ask_message", "block_list", "fixed_message", "impossible_message", "refuse_message"]
