"""Training commands for the restater beyond the English rewordings: the dev languages, commands that name
no block, and commands the robot must not act on (pure data, no torch).

The restater answers one of the canonical instructions (`core.robot.tasks`), one of the *open* instructions
(a task with the block left open, "pick up the block": the app asks which one), or `NONE_ANSWER` (no task
of the robot: a skill it lacks, an object that is not on the table, moving the bowl or the plate).

Commands here are hand-written for training and nothing else. They are in English, Spanish, German and
Chinese; French and Japanese (dev languages) and the held-out languages of the benchmark (it, pt, nl, ru,
ko, pl) never appear, and no rendered command is one of the benchmarks' or the dev sets' (a test checks
this).
Out-of-domain examples avoid the held-out set's concepts: the skills, objects and non-scene colours here
(pink, brown, grey) are other ones than those the benchmark asks about.

Slots: `{c}` / `{t}` the moved / target block's colour in the language's default form, `{c_x}` another
form `x` (`COLOURS[lang][x]`: the feminine, a case, a bare stem).
"""

from __future__ import annotations

import string

from core.language.restate import NONE_ANSWER, OPEN_INSTRUCTIONS, is_task_answer, restate_pairs
from core.robot.tasks import BLOCK_COLORS, all_tasks

# The languages the restater is trained on besides English. French and Japanese are left out on purpose:
# they are the dev languages it never saw, on which the reader's margins are chosen (like the benchmark's
# held-out languages, they show what the training transfers to a language it never saw).
TRAIN_LANGUAGES = ("es", "de", "zh")

_RGBY = BLOCK_COLORS


def _forms(**forms: str) -> dict[str, dict[str, str]]:
    return {("" if k == "_" else k): dict(zip(_RGBY, v.split("|"), strict=True)) for k, v in forms.items()}


COLOURS: dict[str, dict[str, dict[str, str]]] = {
    "en": _forms(_="red|green|blue|yellow"),
    "es": _forms(_="rojo|verde|azul|amarillo", f="roja|verde|azul|amarilla"),
    "de": _forms(_="roten|grünen|blauen|gelben", e="rote|grüne|blaue|gelbe", s="rotes|grünes|blaues|gelbes"),
    "zh": _forms(_="红色|绿色|蓝色|黄色", s="红|绿|蓝|黄"),
}

# Every kind in each dev language: other verbs, nouns and word orders than the benchmark's wordings.
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "pick": ("recoge la pieza {c_f} de la mesa", "levanta la pieza {c_f}", "agarra el bloque {c} y levántalo",
                 "sube el cubo {c} en el aire"),
        "put_in": ("pon el cubo {c} en el bol", "mete la pieza {c_f} en el cuenco", "deja caer el bloque {c} en el bol",
                   "guarda el cubo {c} en el cuenco"),
        "put_on": ("pon el cubo {c} sobre el plato", "deja el bloque {c} en el plato", "coloca la pieza {c_f} en el plato",
                   "lleva el cubo {c} al plato"),
        "push_left": ("empuja el cubo {c} hacia la izquierda", "mueve el bloque {c} a la izquierda empujándolo",
                      "empuja la pieza {c_f} a la izquierda"),
        "push_right": ("empuja el cubo {c} hacia la derecha", "mueve el bloque {c} a la derecha empujándolo",
                       "empuja la pieza {c_f} a la derecha"),
        "push_forward": ("empuja el cubo {c} hacia adelante", "mueve el bloque {c} hacia delante empujándolo",
                         "empuja la pieza {c_f} lejos de ti"),
        "stack": ("apila el cubo {c} sobre el cubo {t}", "coloca el bloque {c} encima del cubo {t}",
                  "coloca la pieza {c_f} sobre la pieza {t_f}"),
    },
    "de": {
        "pick": ("nimm den {c} Würfel hoch", "heb das {c_e} Klötzchen an", "greif den {c} Block und heb ihn hoch",
                 "hebe den {c} Klotz auf"),
        "put_in": ("leg den {c} Würfel in die Schüssel", "tu das {c_e} Klötzchen in die Schale",
                   "lass den {c} Block in die Schüssel fallen", "steck den {c} Klotz in die Schale"),
        "put_on": ("leg den {c} Würfel auf den Teller", "stell das {c_e} Klötzchen auf den Teller",
                   "setz den {c} Block auf den Teller", "bring den {c} Klotz auf den Teller"),
        "push_left": ("schubs den {c} Würfel nach links", "schiebe das {c_e} Klötzchen nach links",
                      "drück den {c} Block nach links"),
        "push_right": ("schubs den {c} Würfel nach rechts", "schiebe das {c_e} Klötzchen nach rechts",
                       "drück den {c} Block nach rechts"),
        "push_forward": ("schubs den {c} Würfel nach vorne", "schiebe das {c_e} Klötzchen nach vorn",
                         "drück den {c} Block nach vorne"),
        "stack": ("stapel den {c} Würfel auf den {t} Würfel", "setz das {c_e} Klötzchen auf das {t_e}",
                  "leg den {c} Block oben auf den {t} Block"),
    },
    "zh": {
        "pick": ("拿起{c}方块", "把{c}积木举起来", "抓起{c_s}色的方块", "提起{c}的积木"),
        "put_in": ("把{c}方块装进碗里", "将{c}积木放入碗中", "把{c_s}色的块放到碗里", "把{c}的方块扔进碗里"),
        "put_on": ("把{c}方块放在盘子上", "将{c}积木放到盘子里", "把{c_s}色的块放在碟子上", "把{c}的方块摆到盘子上"),
        "push_left": ("把{c}方块推到左边", "将{c}积木向左推", "往左推{c_s}色的块"),
        "push_right": ("把{c}方块推到右边", "将{c}积木向右推", "往右推{c_s}色的块"),
        "push_forward": ("把{c}方块往前推", "将{c}积木向前推", "往前推{c_s}色的块"),
        "stack": ("把{c}方块叠到{t}方块上面", "将{c}积木放到{t}积木上面", "把{c_s}色的块摞在{t_s}色的块上"),
    },
}

# Commands that name no block ("pick up the block"): the restater answers the open instruction of the
# kind; the app then asks which block. English and the dev languages.
OPEN_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"pick": ("pick up a block", "lift the cube", "grab a block"), "put_in": ("put a block in the bowl",
           "drop the cube into the bowl"), "put_on": ("put a block on the plate", "set the cube on the plate"),
           "push_left": ("push a block to the left", "slide the cube left"),
           "push_right": ("push a block to the right", "slide the cube right"),
           "push_forward": ("push a block forward", "slide the cube forward"),
           "stack": ("stack one block on another", "put a block on top of another block")},
    "es": {"pick": ("recoge un bloque", "alza un cubo"), "put_in": ("pon un cubo en el bol",),
           "put_on": ("deja un bloque en el plato",), "push_left": ("empuja un bloque a la izquierda",),
           "push_right": ("empuja un cubo a la derecha",), "push_forward": ("empuja un bloque hacia adelante",),
           "stack": ("apila un bloque sobre otro",)},
    "de": {"pick": ("nimm einen Würfel hoch", "heb den Block an"), "put_in": ("leg einen Würfel in die Schüssel",),
           "put_on": ("stell einen Block auf den Teller",), "push_left": ("schieb einen Block nach links",),
           "push_right": ("schieb einen Würfel nach rechts",), "push_forward": ("schieb einen Block nach vorne",),
           "stack": ("stapel einen Block auf einen anderen",)},
    "zh": {"pick": ("拿起一个方块", "把积木举起来"), "put_in": ("把一个方块放进碗里",), "put_on": ("把积木放在盘子上",),
           "push_left": ("把一个方块推到左边",), "push_right": ("把积木往右推",), "push_forward": ("把一个方块往前推",),
           "stack": ("把一个方块叠在另一个上",)},
}

# Commands the robot must not act on: skills it lacks, objects that are not on the table, the bowl or the
# plate moved (they are fixed), questions sent as a command. Not the benchmark's concepts (see the module docstring).
NONE_COMMANDS: dict[str, tuple[str, ...]] = {
    "en": ("clap your hands", "jump up and down", "cook some pasta", "fold the towel", "draw a circle on the paper",
           "turn on the radio", "call my sister", "feed the cat", "tie my shoes", "write your name",
           "pick up the pink block", "put the brown block in the bowl", "push the grey cube to the left",
           "bring me the scissors", "put the spoon on the plate", "lift the pencil", "stack the book on the box",
           "move the bowl to the left", "pick up the plate", "stack the bowl on the plate",
           "push the plate forward", "put the table on the plate", "lift the robot",
           "what is your favourite food?", "who built you?", "do you like music?", "where is the kitchen",
           "is it raining outside?", "why is the sky blue?", "tell me a joke", "what does the red block weigh?"),
    "es": ("aplaude", "salta", "cocina una sopa", "dobla la toalla", "enciende la radio", "dibuja un círculo",
           "recoge el bloque rosa", "pon el cubo marrón en el bol", "tráeme las tijeras", "pon la cuchara en el plato",
           "mueve el bol a la derecha", "levanta el plato", "pon el plato dentro del bol",
           "¿cuál es tu comida favorita?", "¿quién te construyó?", "¿te gusta la música?", "cuéntame un chiste"),
    "de": ("klatsch in die Hände", "spring hoch", "koch Nudeln", "falte das Handtuch", "schalte das Radio ein",
           "mal einen Kreis", "nimm den rosa Würfel", "leg den braunen Block in die Schüssel",
           "gib mir die Schere", "leg den Löffel auf den Teller", "heb den Teller hoch", "schieb die Schüssel nach links",
           "stell den Teller in die Schüssel", "Was isst du am liebsten?", "Wer hat dich gebaut?",
           "Magst du Musik?", "Erzähl mir einen Witz"),
    "zh": ("拍拍手", "跳一下", "做一碗面条", "把毛巾叠好", "打开收音机", "画一个圆", "拿起粉色的方块", "把棕色的积木放进碗里",
           "把剪刀给我", "把勺子放在盘子上", "把盘子举起来", "把碗推到左边", "把盘子放进碗里",
           "你最喜欢吃什么？", "谁造了你？", "你喜欢音乐吗？", "给我讲个笑话"),
}


# The bowl or the plate moved onto, into or beside a block (they are fixed, so "put the bowl on the red block"
# is no task, though it names a block, a verb of putting and the bowl): rendered with every block colour, so
# the restater learns that the thing moved decides it, not the words present. Other wordings than the
# benchmark's and the dev sets' (a test checks).
FIXED_MOVED: dict[str, tuple[str, ...]] = {
    "en": ("place the bowl on top of the {c} cube", "set the plate down on the {c} block", "drop the plate onto the {c} cube",
           "stack the bowl on top of the {c} block", "push the bowl toward the {c} block", "lift the plate over the {c} cube"),
    "es": ("coloca el bol encima del cubo {c}", "deja el plato sobre la pieza {c_f}", "pon el cuenco arriba del bloque {c}",
           "empuja el plato hacia el cubo {c}"),
    "de": ("setz die Schale auf den {c} Würfel", "leg den Teller oben auf das {c_e} Klötzchen",
           "stapel die Schüssel auf den {c} Klotz", "schieb den Teller zum {c} Würfel"),
    "zh": ("把碗叠到{c}积木上面", "将盘子放在{c_s}色的块上", "把碗扣在{c}方块上", "把盘子推到{c}积木旁边"),
}


def slots(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(template: str, lang: str, colour: str, target: str | None = None) -> str:
    """`template` with `{c...}` filled from `colour` and `{t...}` from `target` ("red", ...) in `lang`."""
    values: dict[str, str] = {}
    for form, words in COLOURS[lang].items():
        suffix = f"_{form}" if form else ""
        values["c" + suffix] = words[colour]
        if target is not None:
            values["t" + suffix] = words[target]
    return template.format(**values)


def language_pairs(lang: str) -> list[tuple[str, str]]:
    """(command, answer) for every task in `lang` ("en": none, the English rewordings are elsewhere), every
    open command and every out-of-domain command of `lang`."""
    pairs: list[tuple[str, str]] = []
    for task in all_tasks() if lang in TEMPLATES else []:
        target = task.target.split()[0] if task.kind == "stack" and task.target else None
        for tpl in TEMPLATES[lang][task.kind]:
            pairs.append((render(tpl, lang, task.obj.split()[0], target), task.instruction))
    for kind, texts in OPEN_TEMPLATES.get(lang, {}).items():
        pairs += [(t, OPEN_INSTRUCTIONS[kind]) for t in texts]
    pairs += [(t, NONE_ANSWER) for t in NONE_COMMANDS.get(lang, ())]
    pairs += [(render(t, lang, c), NONE_ANSWER) for t in FIXED_MOVED.get(lang, ()) for c in BLOCK_COLORS]
    return pairs


def training_pairs(languages: tuple[str, ...] = TRAIN_LANGUAGES, held_out_share: float = 0.15, repeat: int = 2
                   ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(training, held-out) pairs of the restater: the English ones (`restate_pairs`, with its held-out
    rewordings), then English and each of `languages`' commands of this module; open and out-of-domain
    commands `repeat` times (they are few beside the tasks)."""
    train, held = restate_pairs(held_out_share)
    for lang in ("en", *languages):
        for command, answer in language_pairs(lang):
            train += [(command, answer)] * (1 if is_task_answer(answer) else repeat)
    return train, held


__all__ = ["COLOURS", "FIXED_MOVED", "NONE_COMMANDS", "OPEN_TEMPLATES", "TEMPLATES", "TRAIN_LANGUAGES", "language_pairs", "render",
           "slots", "training_pairs"]
