"""HELD-OUT TEST SET B — NEVER train on these commands and never use them (or results on them) to pick a
threshold, a word list, a prompt or any other setting.

Written after the colour lexicon (`core.language.colors`) and the word cues (`core.language.cues`) and
before the fixed-object check, to measure them on commands none of them was written from: other wordings,
four languages the first held-out set does not have (sv, tr, cs, id), commands whose destination comes
first ("into the bowl, please put ..."), a fixed object moved with and without a block colour, absent
colours and an absent object of a present colour. Same scene and categories as `held_out_refusal`.
"""

from __future__ import annotations

from bench.data import refusal_items

IN_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, command, the instruction it asks for)
    ("en", "into the bowl, please put the green block", "put the green block in the bowl"),
    ("en", "lift the blue cube off the table", "pick up the blue block"),
    ("en", "slide the yellow block leftwards", "push the yellow block to the left"),
    ("es", "sobre el plato, deja el bloque rojo", "put the red block on the plate"),
    ("es", "levanta el cubo verde de la mesa", "pick up the green block"),
    ("fr", "dans le bol, mets le cube bleu", "put the blue block in the bowl"),
    ("fr", "déplace le bloc jaune vers la droite", "push the yellow block to the right"),
    ("de", "Nimm den roten Würfel vom Tisch", "pick up the red block"),
    ("de", "Auf den Teller mit dem grünen Block", "put the green block on the plate"),
    ("it", "sposta il cubo blu in avanti", "push the blue block forward"),
    ("pt", "põe o bloco amarelo no prato", "put the yellow block on the plate"),
    ("nl", "til het groene blok op", "pick up the green block"),
    ("ru", "положи зелёный кубик на тарелку", "put the green block on the plate"),
    ("pl", "połóż czerwony klocek na niebieskim", "stack the red block on the blue block"),
    ("sv", "lägg det blå blocket i skålen", "put the blue block in the bowl"),
    ("sv", "lyft det gula blocket", "pick up the yellow block"),
    ("tr", "kırmızı küpü kaseye koy", "put the red block in the bowl"),
    ("cs", "polož zelenou kostku na talíř", "put the green block on the plate"),
    ("id", "dorong balok biru ke kiri", "push the blue block to the left"),
    ("zh", "将黄色积木推到右边", "push the yellow block to the right"),
    ("ja", "青いブロックをお皿に載せて", "put the blue block on the plate"),
    ("ko", "빨간 블록을 앞으로 밀어 줘", "push the red block forward"),
)

OUT_OF_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, subcategory, command)
    ("en", "absurd", "set the plate on top of the blue block"), ("en", "absurd", "lift the bowl"),
    ("es", "absurd", "pon el cuenco encima del bloque amarillo"), ("fr", "absurd", "mets l'assiette dans le bol"),
    ("de", "absurd", "Leg den Teller auf den roten Würfel"), ("it", "absurd", "appoggia il piatto sul blocco verde"),
    ("pt", "absurd", "empilhe a tigela sobre o bloco azul"), ("sv", "absurd", "lägg skålen på det röda blocket"),
    ("tr", "absurd", "tabağı sarı küpün üstüne koy"), ("zh", "absurd", "把碗叠到蓝色积木上面"),
    ("ja", "absurd", "お皿を緑のブロックに載せて"), ("ko", "absurd", "접시를 빨간 블록 위에 놓아"),
    ("cs", "absurd", "polož misku na modrou kostku"), ("ru", "absurd", "поставь миску на зелёный кубик"),
    ("en", "absent", "put the pink block in the bowl"), ("es", "absent", "coge la pelota roja"),
    ("fr", "absent", "prends le cube gris"), ("de", "absent", "Leg den braunen Block in die Schüssel"),
    ("it", "absent", "prendi il cubo nero"), ("sv", "absent", "ta det vita blocket"),
    ("tr", "absent", "mor küpü al"), ("id", "absent", "ambil balok hitam"),
    ("zh", "absent", "拿起橙色的方块"), ("ja", "absent", "ピンクのブロックを持ち上げて"),
    ("ko", "absent", "검은 블록을 그릇에 넣어"), ("pl", "absent", "weź szary klocek"),
    ("en", "skill", "bring me a glass of water"), ("es", "skill", "baila un poco"), ("tr", "skill", "ışığı kapat"),
    ("cs", "skill", "zazpívej písničku"), ("sv", "question", "vad heter du?"), ("id", "question", "berapa umurmu?"),
)

IN_DOMAIN_GOLD: tuple[str, ...] = tuple(gold for _, _, gold in IN_DOMAIN)


def items() -> list[dict]:
    return refusal_items(tuple((lang, text) for lang, text, _ in IN_DOMAIN), OUT_OF_DOMAIN, ())


__all__ = ["IN_DOMAIN", "IN_DOMAIN_GOLD", "OUT_OF_DOMAIN", "items"]
