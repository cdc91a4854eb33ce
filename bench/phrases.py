"""Commands in other languages for the multilingual benchmark: the pick-up and put-in tasks worded as a
visitor would type them (hand-written; the model is never trained on any of these words)."""

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
    "es": {"pick": "recoge el bloque {c}", "put_in": "pon el bloque {c} en el cuenco"},
    "fr": {"pick": "prends le bloc {c}", "put_in": "mets le bloc {c} dans le bol"},
    "de": {"pick": "heb den {c} Block hoch", "put_in": "leg den {c} Block in die Schüssel"},
    "zh": {"pick": "拿起{c}的方块", "put_in": "把{c}的方块放进碗里"},
    "ja": {"pick": "{c}ブロックを持ち上げて", "put_in": "{c}ブロックをボウルに入れて"},
}


def command(task: Task, lang: str) -> str:
    """The task's command in `lang` ("en": the canonical English instruction)."""
    if lang == "en":
        return task.instruction
    try:
        template = TEMPLATES[lang][task.kind]
    except KeyError:
        raise ValueError(f"no {lang!r} wording for {task.kind!r} tasks; have {sorted(TEMPLATES)} x pick, put_in") from None
    return template.format(c=COLORS[lang][task.obj.split()[0]])
