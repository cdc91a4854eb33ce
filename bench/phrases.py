"""Commands in other languages for the multilingual benchmark: every task kind worded as a visitor
would type it (hand-written; the model is never trained on any of these words)."""

from __future__ import annotations

from core.robot.tasks import Task

LANGUAGES = ("en", "es", "fr", "de", "zh", "ja")

COLORS = {
    "es": {"red": "rojo", "green": "verde", "blue": "azul", "yellow": "amarillo"},
    "fr": {"red": "rouge", "green": "vert", "blue": "bleu", "yellow": "jaune"},
    "de": {"red": "roten", "green": "grünen", "blue": "blauen", "yellow": "gelben"},
    "zh": {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色"},
    "ja": {"red": "赤い", "green": "緑の", "blue": "青い", "yellow": "黄色い"},
}

TEMPLATES = {
    "es": {"pick": "recoge el bloque {c}", "put_in": "pon el bloque {c} en el cuenco",
           "put_on": "pon el bloque {c} en el plato", "push_left": "empuja el bloque {c} a la izquierda",
           "push_right": "empuja el bloque {c} a la derecha", "push_forward": "empuja el bloque {c} hacia adelante",
           "stack": "apila el bloque {c} sobre el bloque {t}"},
    "fr": {"pick": "prends le bloc {c}", "put_in": "mets le bloc {c} dans le bol",
           "put_on": "mets le bloc {c} sur l'assiette", "push_left": "pousse le bloc {c} vers la gauche",
           "push_right": "pousse le bloc {c} vers la droite", "push_forward": "pousse le bloc {c} vers l'avant",
           "stack": "empile le bloc {c} sur le bloc {t}"},
    "de": {"pick": "heb den {c} Block hoch", "put_in": "leg den {c} Block in die Schüssel",
           "put_on": "leg den {c} Block auf den Teller", "push_left": "schieb den {c} Block nach links",
           "push_right": "schieb den {c} Block nach rechts", "push_forward": "schieb den {c} Block nach vorne",
           "stack": "stapel den {c} Block auf den {t} Block"},
    "zh": {"pick": "拿起{c}的方块", "put_in": "把{c}的方块放进碗里", "put_on": "把{c}的方块放在盘子上",
           "push_left": "把{c}的方块推到左边", "push_right": "把{c}的方块推到右边", "push_forward": "把{c}的方块往前推",
           "stack": "把{c}的方块叠在{t}的方块上"},
    "ja": {"pick": "{c}ブロックを持ち上げて", "put_in": "{c}ブロックをボウルに入れて", "put_on": "{c}ブロックをお皿に置いて",
           "push_left": "{c}ブロックを左に押して", "push_right": "{c}ブロックを右に押して", "push_forward": "{c}ブロックを前に押して",
           "stack": "{c}ブロックを{t}ブロックの上に積んで"},
}


# A second wording of every kind (other verbs and nouns: "cube", "Würfel", "tazón"), used only to choose
# the restatement's settings (`core.language.restate.GLOSS_WEIGHT`); the benchmark reports TEMPLATES.
DEV_TEMPLATES = {
 "es": {"pick": "agarra el bloque {c}", "put_in": "coloca el bloque {c} dentro del tazón",
        "put_on": "deja el bloque {c} sobre el plato", "push_left": "mueve el bloque {c} hacia la izquierda",
        "push_right": "desplaza el bloque {c} hacia la derecha", "push_forward": "empuja hacia delante el bloque {c}",
        "stack": "pon el bloque {c} encima del bloque {t}"},
 "fr": {"pick": "attrape le cube {c}", "put_in": "place le cube {c} dans le bol", "put_on": "pose le cube {c} sur l'assiette",
        "push_left": "pousse le cube {c} à gauche", "push_right": "décale le cube {c} à droite",
        "push_forward": "pousse le cube {c} en avant", "stack": "pose le cube {c} sur le cube {t}"},
 "de": {"pick": "nimm den {c} Würfel", "put_in": "tu den {c} Würfel in die Schale", "put_on": "stell den {c} Würfel auf den Teller",
        "push_left": "schiebe den {c} Würfel nach links", "push_right": "drück den {c} Würfel nach rechts",
        "push_forward": "schiebe den {c} Würfel nach vorn", "stack": "setz den {c} Würfel auf den {t} Würfel"},
 "zh": {"pick": "把{c}方块拿起来", "put_in": "将{c}方块放到碗里", "put_on": "将{c}方块放到盘子上", "push_left": "向左推{c}方块",
        "push_right": "向右推{c}方块", "push_forward": "向前推{c}方块", "stack": "把{c}方块放在{t}方块上面"},
 "ja": {"pick": "{c}ブロックを取って", "put_in": "{c}ブロックをボウルの中に入れてください", "put_on": "{c}ブロックを皿の上に置いてください",
        "push_left": "{c}ブロックを左へ押してください", "push_right": "{c}ブロックを右へ押してください",
        "push_forward": "{c}ブロックを前へ押してください", "stack": "{c}ブロックを{t}ブロックに重ねてください"},
}
DEV_COLORS = {**COLORS, "zh": {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色"}}
WORDINGS = ("main", "dev")


def command(task: Task, lang: str, wording: str = "main") -> str:
    """The task's command in `lang` ("en": the canonical English instruction); `wording` "dev": the second
    wording (no English one)."""
    if wording not in WORDINGS:
        raise ValueError(f"unknown wording {wording!r}; wordings: {', '.join(WORDINGS)}")
    templates, colors = (TEMPLATES, COLORS) if wording == "main" else (DEV_TEMPLATES, DEV_COLORS)
    if lang == "en":
        if wording == "dev":
            raise ValueError("the dev wording has no English commands")
        return task.instruction
    try:
        template = templates[lang][task.kind]
    except KeyError:
        raise ValueError(f"no {lang!r} wording for {task.kind!r} tasks; languages: {', '.join(LANGUAGES)}") from None
    names = colors[lang]
    return template.format(c=names[task.obj.split()[0]], t=names[task.target.split()[0]] if task.kind == "stack" else "")
