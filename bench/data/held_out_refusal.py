"""HELD-OUT TEST SET — NEVER train on these commands and never use them (or results on them) to pick a
threshold, a prompt or any other setting. Tune refusal on `bench.data.dev_commands.DEV_REFUSAL`.

Commands for the refusal measurement, each sent with "Do it" from the home state of a seeded scene
(four blocks — red, green, blue, yellow — a bowl and a plate are always on the table):
- "in": commands the robot can do (every task kind, 12 languages): refusing one is a false refusal;
- "out": commands it should not act on, by subcategory: "skill" (something the robot cannot do),
  "absent" (an object that is not in the scene), "question" (a question sent with "Do it"), "absurd"
  (impossible with these objects, e.g. moving the fixed bowl);
- "ambiguous": a command that fits several blocks; the app should ask which one (counted apart).
"""

from __future__ import annotations

from bench.data import refusal_items

IN_DOMAIN: tuple[tuple[str, str], ...] = (
    ("en", "pick up the yellow block"), ("en", "put the green cube into the bowl"),
    ("en", "push the blue block to the right"), ("en", "stack the red block on the yellow block"),
    ("es", "recoge el cubo azul"), ("es", "pon el bloque amarillo en el plato"),
    ("es", "empuja el bloque verde hacia la izquierda"), ("es", "pon el bloque rojo encima del azul"),
    ("fr", "prends le cube jaune"), ("fr", "mets le bloc rouge dans le bol"),
    ("fr", "pousse le bloc bleu vers l'avant"), ("fr", "pose le bloc vert sur l'assiette"),
    ("de", "Heb den blauen Würfel hoch"), ("de", "Leg den grünen Block in die Schüssel"),
    ("de", "Schieb den gelben Block nach rechts"), ("de", "Stapel den roten Block auf den grünen"),
    ("zh", "拿起绿色的方块"), ("zh", "把黄色方块放到盘子上"), ("zh", "把红色方块往左推"), ("zh", "把蓝色方块叠在黄色方块上"),
    ("ja", "青いブロックを取って"), ("ja", "赤いブロックをボウルに入れて"), ("ja", "緑のブロックを前に押して"),
    ("ja", "黄色いブロックを赤いブロックの上に積んで"),
    ("it", "prendi il cubo verde"), ("it", "metti il blocco giallo sul piatto"),
    ("it", "spingi il blocco rosso verso destra"), ("it", "metti il blocco blu nella ciotola"),
    ("pt", "pegue o bloco amarelo"), ("pt", "coloque o cubo vermelho na tigela"),
    ("pt", "empurre o bloco verde para a esquerda"), ("pt", "empilhe o bloco azul sobre o vermelho"),
    ("nl", "pak het rode blok"), ("nl", "leg het blauwe blokje op het bord"), ("nl", "duw het gele blok naar voren"),
    ("nl", "zet het groene blok in de kom"),
    ("ru", "возьми жёлтый кубик"), ("ru", "положи синий кубик в миску"), ("ru", "подвинь зелёный кубик вправо"),
    ("ru", "поставь красный кубик на жёлтый"),
    ("ko", "초록 블록을 집어 올려"), ("ko", "파란 블록을 접시에 놓아 줘"), ("ko", "빨간 블록을 왼쪽으로 밀어"),
    ("ko", "노란 블록을 그릇에 넣어 주세요"),
    ("pl", "podnieś niebieski klocek"), ("pl", "włóż żółty klocek do miski"), ("pl", "przesuń czerwony klocek do przodu"),
    ("pl", "połóż zielony klocek na talerzu"),
)


# The instruction each in-domain command asks for, in `IN_DOMAIN`'s order (labels, written by hand with the
# commands: the restatement's accuracy on held-out languages, `restated_right` / `task_right`).
IN_DOMAIN_GOLD: tuple[str, ...] = (
    "pick up the yellow block", "put the green block in the bowl", "push the blue block to the right", "stack the red block on the yellow block",
    "pick up the blue block", "put the yellow block on the plate", "push the green block to the left", "stack the red block on the blue block",
    "pick up the yellow block", "put the red block in the bowl", "push the blue block forward", "put the green block on the plate",
    "pick up the blue block", "put the green block in the bowl", "push the yellow block to the right", "stack the red block on the green block",
    "pick up the green block", "put the yellow block on the plate", "push the red block to the left", "stack the blue block on the yellow block",
    "pick up the blue block", "put the red block in the bowl", "push the green block forward", "stack the yellow block on the red block",
    "pick up the green block", "put the yellow block on the plate", "push the red block to the right", "put the blue block in the bowl",
    "pick up the yellow block", "put the red block in the bowl", "push the green block to the left", "stack the blue block on the red block",
    "pick up the red block", "put the blue block on the plate", "push the yellow block forward", "put the green block in the bowl",
    "pick up the yellow block", "put the blue block in the bowl", "push the green block to the right", "stack the red block on the yellow block",
    "pick up the green block", "put the blue block on the plate", "push the red block to the left", "put the yellow block in the bowl",
    "pick up the blue block", "put the yellow block in the bowl", "push the red block forward", "put the green block on the plate",
)

OUT_OF_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, subcategory, command)
    ("en", "skill", "wave hello to the visitors"), ("en", "absent", "pick up the purple block"),
    ("en", "question", "what is two plus two?"), ("en", "absurd", "put the bowl on the red block"),
    ("en", "skill", "throw the red block across the room"), ("en", "skill", "pour water into the bowl"),
    ("es", "skill", "abre el cajón"), ("es", "absent", "pon el bloque naranja en el cuenco"),
    ("es", "question", "¿cuántos bloques hay en la mesa?"), ("es", "absurd", "mete el plato dentro del bloque verde"),
    ("fr", "skill", "verse de l'eau dans le bol"), ("fr", "absent", "prends la tasse"),
    ("fr", "question", "quelle heure est-il ?"), ("fr", "absurd", "empile la table sur le bloc bleu"),
    ("de", "skill", "Sing ein Lied"), ("de", "absent", "Leg den schwarzen Würfel auf den Teller"),
    ("de", "question", "Wie heißt du?"), ("de", "absurd", "Stell die Schüssel auf den gelben Block"),
    ("zh", "skill", "帮我倒一杯咖啡"), ("zh", "absent", "把紫色的方块放进碗里"),
    ("zh", "question", "今天天气怎么样？"), ("zh", "absurd", "把盘子叠在红色方块上"),
    ("ja", "skill", "窓を開けて"), ("ja", "absent", "白いブロックを持ち上げて"),
    ("ja", "question", "ボウルは何色ですか？"), ("ja", "absurd", "テーブルを持ち上げて"),
    ("it", "skill", "balla per noi"), ("it", "absent", "metti la banana nella ciotola"),
    ("it", "question", "quanti anni hai?"), ("it", "absurd", "metti la ciotola dentro il blocco rosso"),
    ("pt", "skill", "limpe a mesa com um pano"), ("pt", "absent", "pegue a bola laranja"),
    ("pt", "question", "qual é a capital da França?"), ("pt", "absurd", "coloque o prato em cima do bloco verde"),
    ("nl", "skill", "doe het licht aan"), ("nl", "absent", "leg de paarse kubus in de kom"),
    ("nl", "question", "hoeveel is drie keer vier?"), ("nl", "absurd", "zet de kom op het blauwe blok"),
    ("ru", "skill", "помаши рукой гостям"), ("ru", "absent", "возьми оранжевый кубик"),
    ("ru", "question", "сколько будет два плюс два?"), ("ru", "absurd", "положи тарелку в красный кубик"),
    ("ko", "skill", "서랍을 열어 줘"), ("ko", "absent", "보라색 블록을 집어 줘"),
    ("ko", "question", "지금 몇 시야?"), ("ko", "absurd", "그릇을 노란 블록 위에 올려"),
    ("pl", "skill", "zatańcz dla nas"), ("pl", "absent", "podnieś pomarańczowy klocek"),
    ("pl", "question", "jak się nazywasz?"), ("pl", "absurd", "połóż talerz na czerwonym klocku"),
)

AMBIGUOUS: tuple[tuple[str, str], ...] = (
    ("en", "pick up the block"), ("es", "pon el bloque en el cuenco"), ("fr", "pousse le cube vers la gauche"),
    ("de", "Heb den Würfel hoch"), ("zh", "把方块放到盘子上"), ("ja", "ブロックを積んで"),
    ("it", "prendi il blocco"), ("pt", "coloque o cubo na tigela"), ("nl", "duw het blok naar rechts"),
    ("ru", "подними кубик"), ("ko", "블록을 집어 줘"), ("pl", "połóż klocek na talerzu"),
)


def items() -> list[dict]:
    """Every item as {"category", "subcategory", "lang", "text"}: in-domain, out-of-domain, ambiguous."""
    return refusal_items(IN_DOMAIN, OUT_OF_DOMAIN, AMBIGUOUS)
