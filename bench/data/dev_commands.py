"""DEV SET for tuning (restatement, refusal thresholds, prompts): commands in the dev languages only
(en, es, fr, de, zh, ja), worded differently from the held-out test set (`bench.data.held_out_commands`,
`bench.data.held_out_refusal`), which must never be used to choose a setting. Measure on this set with
`python bench/eval/app_autonomous.py --dev` (results go to `bench/results/app_autonomous-dev.json`).

Same slots as the held-out wordings (`bench.data.render`), colour forms from `held_out_commands.COLOURS`.
"""

from __future__ import annotations

from bench.data import refusal_items

DEV_LANGUAGES = ("en", "es", "fr", "de", "zh", "ja")

DEV_WORDINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "pick": ("take the {c} block up off the table", "hold the {c} block up in the air"),
        "put_in": ("the {c} block should end up in the bowl", "carry the {c} block to the bowl and let go"),
        "put_on": ("leave the {c} block on the plate", "carry the {c} cube to the plate and let go"),
        "push_left": ("push the {c} cube leftwards", "shift the {c} block to the left with a push"),
        "push_right": ("push the {c} cube rightwards", "shift the {c} block to the right with a push"),
        "push_forward": ("push the {c} cube ahead", "shift the {c} block forward with a push"),
        "stack": ("the {c} block goes on top of the {t} block", "rest the {c} cube on the {t} cube"),
    },
    "es": {
        "pick": ("sube el bloque {c}", "agarra la pieza {c_f} y álzala"),
        "put_in": ("deposita el bloque {c} en el cuenco", "suelta el cubo {c} dentro del bol"),
        "put_on": ("deja la pieza {c_f} en el plato", "pasa el cubo {c} al plato"),
        "push_left": ("corre el bloque {c} a la izquierda", "mueve la pieza {c_f} empujándola a la izquierda"),
        "push_right": ("corre el bloque {c} a la derecha", "mueve la pieza {c_f} empujándola a la derecha"),
        "push_forward": ("corre el bloque {c} hacia adelante", "mueve la pieza {c_f} empujándola hacia delante"),
        "stack": ("sube el bloque {c} encima del {t}", "apoya la pieza {c_f} sobre la pieza {t_f}"),
    },
    "fr": {
        "pick": ("lève le bloc {c}", "prends la pièce {c_f} et soulève-la"),
        "put_in": ("range le bloc {c} dans le bol", "lâche le cube {c} dans le bol"),
        "put_on": ("place la pièce {c_f} sur l'assiette", "transporte le cube {c} sur l'assiette"),
        "push_left": ("déplace le bloc {c} vers la gauche en poussant", "pousse le cube {c} à gauche"),
        "push_right": ("déplace le bloc {c} vers la droite en poussant", "pousse le cube {c} à droite"),
        "push_forward": ("déplace le bloc {c} vers l'avant en poussant", "pousse le cube {c} devant"),
        "stack": ("pose le bloc {c} par-dessus le bloc {t}", "mets la pièce {c_f} sur la pièce {t_f}"),
    },
    "de": {
        "pick": ("Hol den {c} Baustein hoch", "Nimm das {c_e} Klötzchen in die Hand und heb es an"),
        "put_in": ("Tu den {c} Klotz in die Schüssel", "Lass den {c} Baustein in die Schale fallen"),
        "put_on": ("Leg den {c} Klotz auf den Teller", "Bring das {c_e} Klötzchen auf den Teller"),
        "push_left": ("Schieb das {c_e} Klötzchen nach links", "Drück den {c} Baustein nach links"),
        "push_right": ("Schieb das {c_e} Klötzchen nach rechts", "Drück den {c} Baustein nach rechts"),
        "push_forward": ("Schieb das {c_e} Klötzchen nach vorne", "Drück den {c} Baustein nach vorn"),
        "stack": ("Setz den {c} Baustein auf den {t} Baustein", "Stapel das {c_e} Klötzchen auf das {t_e}"),
    },
    "zh": {
        "pick": ("把{c}的积木拿高", "提起{c}方块"),
        "put_in": ("把{c}方块放入碗内", "将{c}积木丢到碗里"),
        "put_on": ("把{c}方块放到碟子上", "将{c}积木摆在盘子里"),
        "push_left": ("将{c}积木往左边推", "向左推动{c}方块"),
        "push_right": ("将{c}积木往右边推", "向右推动{c}方块"),
        "push_forward": ("将{c}积木往前面推", "向前推动{c}方块"),
        "stack": ("将{c}积木叠在{t}积木上", "把{c}方块摞到{t}方块上"),
    },
    "ja": {
        "pick": ("{c}ブロックを上げて", "{c_n}の積み木を持ち上げてください"),
        "put_in": ("{c}ブロックをボウルへ入れて", "{c_n}の積み木をボウルに入れてください"),
        "put_on": ("{c}ブロックを皿に置いて", "{c_n}の積み木をお皿に載せてください"),
        "push_left": ("{c}ブロックを左に寄せて", "{c_n}の積み木を左へ押してください"),
        "push_right": ("{c}ブロックを右に寄せて", "{c_n}の積み木を右へ押してください"),
        "push_forward": ("{c}ブロックを前へ寄せて", "{c_n}の積み木を前へ押してください"),
        "stack": ("{c}ブロックを{t}ブロックに載せて", "{c_n}の積み木を{t_n}の積み木の上に置いてください"),
    },
}

DEV_IN: tuple[tuple[str, str], ...] = (
    ("en", "lift the green block"), ("en", "push the yellow block forward"), ("en", "put the blue block on the plate"),
    ("es", "coge el bloque rojo"), ("es", "empuja el cubo azul a la derecha"),
    ("fr", "mets le cube vert dans le bol"), ("fr", "empile le bloc jaune sur le bloc rouge"),
    ("de", "Nimm den roten Würfel"), ("de", "Schieb den blauen Würfel nach links"),
    ("zh", "把绿色方块放进碗里"), ("zh", "拿起黄色的方块"),
    ("ja", "赤いブロックを右に押して"), ("ja", "青いブロックをお皿に置いて"),
)
DEV_OUT: tuple[tuple[str, str, str], ...] = (
    ("en", "skill", "open the drawer"), ("en", "absent", "put the orange block in the bowl"),
    ("en", "question", "how many blocks are there?"), ("en", "absurd", "put the plate in the bowl"),
    ("es", "skill", "saluda a los visitantes"), ("es", "absent", "coge el bloque morado"),
    ("fr", "skill", "danse un peu"), ("fr", "absurd", "mets le bol sur le bloc rouge"),
    ("de", "question", "Was ist zwei plus zwei?"), ("de", "absent", "Heb die Tasse hoch"),
    ("zh", "skill", "给我唱首歌"), ("zh", "absent", "拿起白色的方块"),
    ("ja", "skill", "水を注いで"), ("ja", "question", "今何時ですか？"),
)
DEV_AMBIGUOUS: tuple[tuple[str, str], ...] = (
    ("en", "put the block on the plate"), ("es", "levanta el cubo"), ("fr", "prends le bloc"),
    ("de", "Leg den Block in die Schüssel"), ("zh", "把方块往左推"), ("ja", "ブロックを取って"),
)


def dev_refusal_items() -> list[dict]:
    """The dev refusal items in the format of `held_out_refusal.items()`."""
    return refusal_items(DEV_IN, DEV_OUT, DEV_AMBIGUOUS)
