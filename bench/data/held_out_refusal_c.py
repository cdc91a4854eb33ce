"""HELD-OUT TEST SET C — NEVER train on these commands and never use them (or results on them) to pick a
threshold, a word list, a prompt or any other setting.

Written by an independent author, before the changes it is used to measure and without looking at the
app's word lists or at any benchmark result, so that none of those changes could be fitted to it. About
half the commands are fresh wordings in the widely spoken languages (en, es, fr, de, zh, ja, it, pt, nl,
ru, ko, pl): polite requests, imperatives, cube/block synonyms, destination first, informal phrasing; the
other half are in languages a visitor might type (da, no, sv, fi, el, uk, cs, hu, ro, tr, hi, vi, th, ar,
he, id). The in-domain commands cover the seven task kinds about evenly; the out-of-domain ones are split
about evenly between a skill the robot lacks, an object not in the scene (a colour other than red, green,
blue or yellow, or another kind of object, sometimes of a present colour), a question sent as a command
and an absurd request on the fixed objects (moving the bowl, the plate or the table, a block inside a
block). Same scene and categories as `held_out_refusal`.
"""

from __future__ import annotations

from bench.data import refusal_items

IN_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, command, the instruction it asks for)
    # widely spoken languages
    ("en", "could you grab the red cube for me?", "pick up the red block"),
    ("de", "Heb bitte den gelben Klotz hoch", "pick up the yellow block"),
    ("ja", "緑のキューブを持ち上げてください", "pick up the green block"),
    ("pt", "pegue o bloco azul, por favor", "pick up the blue block"),
    ("es", "mete el cubo amarillo en el bol, por favor", "put the yellow block in the bowl"),
    ("it", "nella ciotola metti il blocco rosso", "put the red block in the bowl"),
    ("ru", "Брось синий блок в миску", "put the blue block in the bowl"),
    ("zh", "麻烦把绿色积木放到碗里", "put the green block in the bowl"),
    ("fr", "Pose le cube rouge sur l'assiette, s'il te plaît", "put the red block on the plate"),
    ("nl", "Kun je het gele blokje even op het bordje zetten?", "put the yellow block on the plate"),
    ("ko", "초록색 블록을 접시 위에 올려 주세요", "put the green block on the plate"),
    ("en", "put the blue cube onto the plate, would you", "put the blue block on the plate"),
    ("es", "dale un empujón al cubo verde hacia la izquierda", "push the green block to the left"),
    ("de", "Schieb den roten Würfel ein Stück nach links", "push the red block to the left"),
    ("pl", "Pchnij żółty klocek w lewą stronę", "push the yellow block to the left"),
    ("ja", "青いブロックを左側にずらしてください", "push the blue block to the left"),
    ("en", "nudge the yellow block over to the right", "push the yellow block to the right"),
    ("it", "spingi il cubetto verde verso destra", "push the green block to the right"),
    ("zh", "把红色的方块往右推一下", "push the red block to the right"),
    ("ru", "Толкни жёлтый кубик вправо", "push the yellow block to the right"),
    ("fr", "Fais avancer le cube vert en le poussant", "push the green block forward"),
    ("pt", "empurra o cubo vermelho para a frente", "push the red block forward"),
    ("ko", "파란색 블록 앞으로 좀 밀어 줘", "push the blue block forward"),
    ("nl", "Geef het blauwe blokje een duwtje naar voren", "push the blue block forward"),
    ("en", "stack the green cube on top of the yellow one", "stack the green block on the yellow block"),
    ("es", "coloca el bloque azul encima del rojo", "stack the blue block on the red block"),
    ("de", "Stell den grünen Block auf den blauen", "stack the green block on the blue block"),
    ("fr", "Mets le cube jaune par-dessus le rouge, stp", "stack the yellow block on the red block"),
    # other languages
    ("da", "Løft den røde klods", "pick up the red block"),
    ("fi", "Nosta sininen palikka", "pick up the blue block"),
    ("hi", "हरा ब्लॉक उठाओ", "pick up the green block"),
    ("vi", "Nhấc khối màu vàng lên", "pick up the yellow block"),
    ("no", "Legg den grønne klossen i bollen", "put the green block in the bowl"),
    ("el", "Βάλε τον κόκκινο κύβο μέσα στο μπολ", "put the red block in the bowl"),
    ("ar", "ضع المكعب الأزرق في الوعاء", "put the blue block in the bowl"),
    ("ro", "Pune cubul galben în castron", "put the yellow block in the bowl"),
    ("uk", "Поклади зелений кубик на тарілку", "put the green block on the plate"),
    ("hu", "Tedd a piros kockát a tányérra", "put the red block on the plate"),
    ("th", "วางบล็อกสีน้ำเงินไว้บนจาน", "put the blue block on the plate"),
    ("he", "שים את הקובייה הצהובה על הצלחת", "put the yellow block on the plate"),
    ("tr", "yeşil bloğu sola it", "push the green block to the left"),
    ("sv", "Skjut den röda klossen åt vänster", "push the red block to the left"),
    ("vi", "Đẩy khối màu xanh dương sang trái", "push the blue block to the left"),
    ("id", "Tolong dorong kubus kuning ke kiri", "push the yellow block to the left"),
    ("da", "Skub den gule klods til højre", "push the yellow block to the right"),
    ("fi", "Työnnä punaista palikkaa oikealle", "push the red block to the right"),
    ("ar", "ادفع المكعب الأخضر إلى اليمين", "push the green block to the right"),
    ("hi", "नीले ब्लॉक को दाईं ओर धकेलो", "push the blue block to the right"),
    ("ro", "Împinge cubul verde înainte", "push the green block forward"),
    ("he", "תדחוף את הקובייה האדומה קדימה", "push the red block forward"),
    ("uk", "Штовхни синій кубик уперед", "push the blue block forward"),
    ("hu", "Told előre a sárga kockát", "push the yellow block forward"),
    ("no", "Sett den blå klossen oppå den røde", "stack the blue block on the red block"),
    ("el", "Βάλε τον πράσινο κύβο πάνω στον κίτρινο", "stack the green block on the yellow block"),
    ("tr", "kırmızı küpü mavi küpün üstüne koy", "stack the red block on the blue block"),
    ("th", "วางบล็อกสีเหลืองซ้อนบนบล็อกสีเขียว", "stack the yellow block on the green block"),
)

OUT_OF_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, subcategory, command)
    ("en", "skill", "wipe the table clean"), ("es", "skill", "ábreme la puerta, por favor"),
    ("fr", "skill", "arrose les plantes"), ("de", "skill", "Gieß mir ein Glas Milch ein"),
    ("ja", "skill", "手を振って"), ("it", "skill", "cantami una canzone"),
    ("ru", "skill", "Принеси мне кофе с кухни"), ("da", "skill", "Dans lidt for mig"),
    ("fi", "skill", "Avaa ikkuna"), ("hi", "skill", "कमरे की सफ़ाई करो"),
    ("vi", "skill", "Rót cho tôi một cốc nước"), ("ar", "skill", "ارسم لي قطة"),
    ("en", "absent", "drop the purple cube into the bowl"), ("es", "absent", "mete la manzana en el cuenco"),
    ("fr", "absent", "empile le cube violet sur le cube bleu"), ("de", "absent", "Heb den blauen Ball auf"),
    ("zh", "absent", "把白色方块推到左边"), ("nl", "absent", "pak de zwarte kubus op"),
    ("pt", "absent", "coloca a caneta vermelha no prato"), ("ko", "absent", "장난감 자동차를 앞으로 밀어 줘"),
    ("no", "absent", "Løft den lilla klossen"), ("el", "absent", "Βάλε το φλιτζάνι στο πιάτο"),
    ("uk", "absent", "Візьми помаранчевий кубик"), ("th", "absent", "หยิบบล็อกสีชมพูขึ้นมา"),
    ("en", "question", "what colour is the block nearest to you?"),
    ("fr", "question", "combien de cubes y a-t-il sur la table ?"), ("de", "question", "Wie spät ist es?"),
    ("zh", "question", "你能看到几个方块?"), ("ja", "question", "今日の天気はどう?"),
    ("pl", "question", "Gdzie jest niebieski klocek?"), ("it", "question", "di che colore è il piatto?"),
    ("sv", "question", "Hur många klossar ligger i skålen?"), ("tr", "question", "Masada kaç tane küp var?"),
    ("hu", "question", "Mi van a tálban?"), ("he", "question", "מה השעה עכשיו?"),
    ("id", "question", "Apa warna mangkuknya?"),
    ("en", "absurd", "move the plate to the other side of the table"),
    ("es", "absurd", "guarda el cubo rojo dentro del cubo verde"), ("pt", "absurd", "levante a mesa inteira"),
    ("nl", "absurd", "Til het bord op en leg het in de kom"), ("ru", "absurd", "Сдвинь тарелку вправо"),
    ("ko", "absurd", "그릇을 왼쪽으로 밀어 줘"), ("pl", "absurd", "Włóż niebieski klocek do środka czerwonego klocka"),
    ("ja", "absurd", "テーブルを右にずらして"), ("fi", "absurd", "Nosta kulho lautaselle"),
    ("cs", "absurd", "Posuň stůl dopředu"), ("ro", "absurd", "Pune castronul peste cubul verde"),
    ("da", "absurd", "Stil skålen ovenpå tallerkenen"),
)

IN_DOMAIN_GOLD: tuple[str, ...] = tuple(gold for _, _, gold in IN_DOMAIN)


def items() -> list[dict]:
    return refusal_items(tuple((lang, text) for lang, text, _ in IN_DOMAIN), OUT_OF_DOMAIN, ())


__all__ = ["IN_DOMAIN", "IN_DOMAIN_GOLD", "OUT_OF_DOMAIN", "items"]
