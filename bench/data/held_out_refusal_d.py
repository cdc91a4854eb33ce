"""HELD-OUT TEST SET D — NEVER train on these commands and never use them (or results on them) to pick a
threshold, a word list, a prompt, a checkpoint or any other setting.

Written by an independent author, before the changes it is used to measure and without looking at the
app's word lists, its logic or any benchmark result, so that none of those changes could be fitted to it.
A third of the commands are in en, es, fr, de, zh, ja, a third in it, pt, nl, ru, ko, pl and a third in
other languages a museum visitor might type (ca, fi, ms, sv, el, hr, da, tr, vi, cs, hu, tl, no, id, uk,
ro, sk, bg, lt, hi). The in-domain commands cover the seven task kinds about evenly and are worded the way
visitors type: plain imperatives, polite requests and questions ("could you ...?"), colloquial verbs
(grab, plop, shove, chuck, nudge), cube/brick/piece synonyms, destination first, lower case without
accents, extra words ("for me", "now", "thanks"). The out-of-domain ones are 12 per subcategory: "skill"
(something the robot cannot do), "absent" (a colour not in the scene, or another kind of object, sometimes
of a present colour), "question" (a real question sent as a command, some about the blocks) and "absurd"
(moving the bowl, the plate or the table, a block inside another block, a block stacked on itself, the
bowl on the plate). Same scene and categories as `held_out_refusal`.
"""

from __future__ import annotations

from bench.data import refusal_items

IN_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, command, the instruction it asks for)
    # en, es, fr, de, zh, ja
    ("en", "could you grab the green brick for me?", "pick up the green block"),
    ("en", "plop the yellow cube on the plate, thanks", "put the yellow block on the plate"),
    ("en", "would you mind nudging the red block a little to the right?", "push the red block to the right"),
    ("en", "shove the blue piece to the left now", "push the blue block to the left"),
    ("es", "podrias meter el bloque rojo en el cuenco?", "put the red block in the bowl"),
    ("es", "empuja un poquito el cubo amarillo hacia adelante, porfa", "push the yellow block forward"),
    ("es", "apílame el cubo azul sobre el rojo, gracias", "stack the blue block on the red block"),
    ("es", "oye, deja el cubito verde en el plato", "put the green block on the plate"),
    ("fr", "tu peux pousser le cube vert vers la gauche ?", "push the green block to the left"),
    ("fr", "pourriez-vous déposer la brique rouge sur l'assiette ?", "put the red block on the plate"),
    ("fr", "balance le cube jaune dans le bol", "put the yellow block in the bowl"),
    ("fr", "soulève la brique bleue, merci", "pick up the blue block"),
    ("de", "Könntest du bitte den gelben Würfel nach rechts schubsen?", "push the yellow block to the right"),
    ("de", "den roten Klotz nach vorne schieben, bitte", "push the red block forward"),
    ("de", "Pack den blauen Würfel auf den gelben drauf", "stack the blue block on the yellow block"),
    ("zh", "请帮我把红色的方块拿起来", "pick up the red block"),
    ("zh", "把蓝色积木放到碗里去，谢谢", "put the blue block in the bowl"),
    ("zh", "能把黄色方块往左推一下吗？", "push the yellow block to the left"),
    ("ja", "緑のキューブを前の方に押してもらえますか？", "push the green block forward"),
    ("ja", "青いブロックを右へ押してくれる？", "push the blue block to the right"),
    ("ja", "黄色のブロックを青いブロックの上に乗せてください", "stack the yellow block on the blue block"),
    # it, pt, nl, ru, ko, pl
    ("it", "potresti prendere il cubetto giallo?", "pick up the yellow block"),
    ("it", "butta il mattoncino blu nella ciotola", "put the blue block in the bowl"),
    ("it", "mi sposti il blocco rosso a sinistra con una spinta?", "push the red block to the left"),
    ("it", "appoggia il cubo rosso sopra quello blu, grazie", "stack the red block on the blue block"),
    ("pt", "poderia colocar o cubo verde no prato, por favor?", "put the green block on the plate"),
    ("pt", "da um empurrao no bloco amarelo pra direita", "push the yellow block to the right"),
    ("pt", "pega a peça vermelha pra mim", "pick up the red block"),
    ("pt", "bota o bloco amarelo em cima do verde", "stack the yellow block on the green block"),
    ("nl", "wil je het rode blokje in de kom gooien?", "put the red block in the bowl"),
    ("nl", "kun je het blauwe blokje een stukje naar links duwen?", "push the blue block to the left"),
    ("nl", "zet het groene blok op het gele, alsjeblieft", "stack the green block on the yellow block"),
    ("nl", "duw het gele blokje een beetje naar voren, dank je", "push the yellow block forward"),
    ("ru", "Подтолкни красный брусок вперёд, пожалуйста", "push the red block forward"),
    ("ru", "Пододвинь синий кубик направо", "push the blue block to the right"),
    ("ru", "переложи зеленый кубик на тарелку", "put the green block on the plate"),
    ("ko", "노란 블록 좀 집어 줄래?", "pick up the yellow block"),
    ("ko", "빨간 블록을 오른쪽으로 살짝 밀어 줄래요?", "push the red block to the right"),
    ("ko", "초록 블록을 왼쪽으로 좀 밀어 주시겠어요?", "push the green block to the left"),
    ("pl", "Czy możesz włożyć niebieską kostkę do miseczki?", "put the blue block in the bowl"),
    ("pl", "Pchnij zieloną kostkę trochę do przodu, dzięki", "push the green block forward"),
    ("pl", "Na talerz odłóż żółty klocek, proszę", "put the yellow block on the plate"),
    # other languages
    ("ca", "Pots agafar el bloc vermell, si us plau?", "pick up the red block"),
    ("fi", "Voisitko nostaa keltaisen kuution?", "pick up the yellow block"),
    ("ms", "Tolong angkat blok hijau itu", "pick up the green block"),
    ("sv", "kan du lägga den gröna kuben i skålen?", "put the green block in the bowl"),
    ("el", "Ρίξε τον μπλε κύβο στο μπολ, σε παρακαλώ", "put the blue block in the bowl"),
    ("hr", "Stavi žutu kocku u zdjelu", "put the yellow block in the bowl"),
    ("da", "Vil du sætte den blå klods på tallerkenen?", "put the blue block on the plate"),
    ("tr", "sari kupu tabaga koyar misin?", "put the yellow block on the plate"),
    ("vi", "Làm ơn đặt khối màu đỏ lên đĩa", "put the red block on the plate"),
    ("cs", "Posuň zelenou kostku doleva, prosím", "push the green block to the left"),
    ("hu", "Tolnád balra a piros kockát?", "push the red block to the left"),
    ("tl", "Pakitulak ang dilaw na bloke pakaliwa", "push the yellow block to the left"),
    ("no", "Dytt den grønne klossen til høyre", "push the green block to the right"),
    ("id", "bisa geser balok merah ke kanan?", "push the red block to the right"),
    ("uk", "Посунь, будь ласка, жовтий кубик праворуч", "push the yellow block to the right"),
    ("ro", "Poți să împingi puțin cubul albastru în față?", "push the blue block forward"),
    ("sk", "Potlač červenú kocku dopredu", "push the red block forward"),
    ("bg", "Бутни зеления блок напред", "push the green block forward"),
    ("tr", "yeşil bloğu sarı bloğun üzerine yerleştir", "stack the green block on the yellow block"),
    ("lt", "Uždėk mėlyną kaladėlę ant raudonos", "stack the blue block on the red block"),
    ("sv", "ställ det röda blocket ovanpå det gula", "stack the red block on the yellow block"),
)

OUT_OF_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, subcategory, command)
    ("en", "skill", "could you fold this napkin into a swan?"), ("es", "skill", "apaga la música, porfa"),
    ("fr", "skill", "recharge mon téléphone, s'il te plaît"), ("de", "skill", "Dreh den gelben Würfel auf den Kopf"),
    ("it", "skill", "stirami questa camicia"), ("pt", "skill", "escreva meu nome num papel"),
    ("ko", "skill", "우산 좀 가져다 줘"), ("pl", "skill", "Zamknij drzwi na klucz"),
    ("sv", "skill", "kan du knyta mina skosnören?"), ("hu", "skill", "Vidd ki a szemetet"),
    ("vi", "skill", "Đọc cho tôi một câu chuyện"), ("tr", "skill", "bana bir fıkra anlat"),
    ("en", "absent", "put the green bottle on the plate"), ("es", "absent", "empuja el bloque rosa a la derecha"),
    ("zh", "absent", "把红色的杯子放到盘子上"), ("ja", "absent", "灰色のブロックを黄色いブロックの上に積んで"),
    ("it", "absent", "metti la matita gialla nella ciotola"), ("pt", "absent", "empurre o bloco preto para a esquerda"),
    ("ru", "absent", "Положи фиолетовый кубик на синий"), ("ko", "absent", "파란 공을 왼쪽으로 밀어 줘"),
    ("fi", "absent", "Laita ruskea kuutio kulhoon"), ("ro", "absent", "Pune mingea roșie pe farfurie"),
    ("hr", "absent", "Podigni bijelu kocku"), ("id", "absent", "ambil gelas hijau itu"),
    ("en", "question", "which block did you move last?"),
    ("es", "question", "¿el bloque azul está a la izquierda del rojo?"),
    ("fr", "question", "qui t'a fabriqué ?"), ("de", "question", "Warum ist der Himmel blau?"),
    ("it", "question", "il blocco giallo è più grande di quello rosso?"),
    ("pt", "question", "quantos blocos estão em cima do prato?"),
    ("nl", "question", "welk blok ligt het dichtst bij het bord?"), ("ru", "question", "Ты умеешь плавать?"),
    ("da", "question", "Hvilken farve har klodsen længst til venstre?"), ("cs", "question", "Je modrá kostka na talíři?"),
    ("uk", "question", "Що ти вмієш робити?"), ("hi", "question", "क्या हरा ब्लॉक कटोरे में है?"),
    ("en", "absurd", "stack the blue block on the blue block"), ("zh", "absurd", "把绿色方块塞进蓝色方块里面"),
    ("ja", "absurd", "ボウルを前に押して"), ("de", "absurd", "Stell den Tisch auf den roten Würfel"),
    ("it", "absurd", "spingi il piatto verso sinistra"), ("pt", "absurd", "coloque a tigela em cima do prato"),
    ("nl", "absurd", "zet het rode blok bovenop zichzelf"), ("ko", "absurd", "빨간 블록을 초록 블록 안에 넣어 줘"),
    ("no", "absurd", "Legg tallerkenen oppi bollen"), ("fi", "absurd", "Pinoa keltainen palikka itsensä päälle"),
    ("el", "absurd", "Σπρώξε το μπολ προς τα αριστερά"), ("vi", "absurd", "Đặt cái bàn lên trên đĩa"),
)

IN_DOMAIN_GOLD: tuple[str, ...] = tuple(gold for _, _, gold in IN_DOMAIN)


def items() -> list[dict]:
    return refusal_items(tuple((lang, text) for lang, text, _ in IN_DOMAIN), OUT_OF_DOMAIN, ())


__all__ = ["IN_DOMAIN", "IN_DOMAIN_GOLD", "OUT_OF_DOMAIN", "items"]
