"""HELD-OUT TEST SET E — NEVER train on these commands and never use them (or results on them) to pick a
threshold, a word list, a prompt, a checkpoint or any other setting.

Written by an independent author, before the changes it is used to measure and without looking at the
app's word lists, its logic or any benchmark result, so that none of those changes could be fitted to it.
A third of the commands are in en, es, fr, de, zh, ja, a third in it, pt, nl, ru, ko, pl and a third in
other languages a museum visitor might type. The in-domain commands cover the seven task kinds about
evenly and are worded the way visitors type: plain imperatives, polite requests and questions, colloquial
verbs, cube/brick/piece synonyms, destination first, lower case without accents, extra words ("for me",
"now", "thanks"). The out-of-domain ones are 13 per subcategory: "skill" (something the robot cannot do),
"absent" (a colour not in the scene, or another kind of object, sometimes of a present colour), "question"
(a real question sent as a command, several about the blocks, their positions or sizes) and "absurd"
(moving the bowl, the plate or the table, a block inside another block, a block on itself, the bowl and
the plate on each other). Same scene and categories as `held_out_refusal`.
"""

from __future__ import annotations

from bench.data import refusal_items

IN_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, command, the instruction it asks for)
    # en, es, fr, de, zh, ja
    ("en", "hey robot, lift up the red block now", "pick up the red block"),
    ("en", "Can you toss the blue brick into the bowl, please?", "put the blue block in the bowl"),
    ("en", "onto the plate goes the yellow piece", "put the yellow block on the plate"),
    ("en", "stick the green cube on top of the red cube for me", "stack the green block on the red block"),
    ("es", "agarra el bloque verde, porfa", "pick up the green block"),
    ("es", "podrias empujar la pieza roja a la derecha?", "push the red block to the right"),
    ("es", "¿Me pones el ladrillo azul en el plato?", "put the blue block on the plate"),
    ("es", "monta el cubo amarillo sobre el verde", "stack the yellow block on the green block"),
    ("fr", "Pourriez-vous placer le cube vert dans le bol ?", "put the green block in the bowl"),
    ("fr", "pousse la brique jaune un peu vers l'avant", "push the yellow block forward"),
    ("fr", "envoie le cube rouge vers la gauche d'une poussée, merci", "push the red block to the left"),
    ("fr", "sur l'assiette, pose-moi le bloc bleu", "put the blue block on the plate"),
    ("de", "Kannst du den grünen Baustein bitte nach links schieben?", "push the green block to the left"),
    ("de", "Den gelben Klotz in die Schale legen, danke", "put the yellow block in the bowl"),
    ("de", "Schnapp dir den blauen Würfel", "pick up the blue block"),
    ("de", "tu den roten wuerfel oben auf den blauen drauf", "stack the red block on the blue block"),
    ("zh", "帮我把绿色的小方块推到左边去", "push the green block to the left"),
    ("zh", "请把蓝色积木堆在红色积木的上面", "stack the blue block on the red block"),
    ("zh", "可以把红色积木放到盘子上吗？", "put the red block on the plate"),
    ("ja", "黄色いブロック、前に押しといて", "push the yellow block forward"),
    ("ja", "緑のブロックを拾い上げて", "pick up the green block"),
    ("ja", "ボウルに青いブロックを入れてくれますか？", "put the blue block in the bowl"),
    # it, pt, nl, ru, ko, pl
    ("it", "Mi prendi il mattoncino verde, per favore?", "pick up the green block"),
    ("it", "spingi il pezzo giallo verso sinistra adesso", "push the yellow block to the left"),
    ("it", "sul piatto ci metti il cubetto blu?", "put the blue block on the plate"),
    ("it", "impila il cubetto verde su quello giallo, grazie", "stack the green block on the yellow block"),
    ("pt", "joga o bloco vermelho na tigela", "put the red block in the bowl"),
    ("pt", "você pode empurrar a peça azul para a direita?", "push the blue block to the right"),
    ("pt", "empurre a peça verde um pouco para frente, obrigado", "push the green block forward"),
    ("pt", "poe o cubo amarelo em cima do azul", "stack the yellow block on the blue block"),
    ("nl", "pak even het gele blokje voor me", "pick up the yellow block"),
    ("nl", "Wil je de rode kubus naar rechts schuiven?", "push the red block to the right"),
    ("nl", "in de kom met dat groene blokje", "put the green block in the bowl"),
    ("nl", "Kun je het rode blok op het bord neerleggen?", "put the red block on the plate"),
    ("ru", "Подними-ка синий брусок", "pick up the blue block"),
    ("ru", "Засунь красный кубик в миску", "put the red block in the bowl"),
    ("ru", "Можешь толкнуть жёлтую детальку влево?", "push the yellow block to the left"),
    ("ru", "Водрузи зелёный брусок на синий", "stack the green block on the blue block"),
    ("ko", "초록색 블록을 그릇에 담아 줄 수 있어?", "put the green block in the bowl"),
    ("ko", "노란 블록을 오른쪽으로 살살 밀어 봐", "push the yellow block to the right"),
    ("ko", "파란 블록을 빨간 블록 위에 얹어 줘", "stack the blue block on the red block"),
    ("pl", "Możesz przepchnąć czerwony klocek do przodu?", "push the red block forward"),
    ("pl", "Przesuń, proszę, zieloną kostkę w prawą stronę", "push the green block to the right"),
    ("pl", "Odstaw niebieską kostkę na talerz, dzięki", "put the blue block on the plate"),
    # other languages
    ("ca", "Posa el bloc blau dins del bol", "put the blue block in the bowl"),
    ("gl", "Levanta o bloque vermello, por favor", "pick up the red block"),
    ("af", "Sit die groen blok op die bord", "put the green block on the plate"),
    ("sv", "kan du puffa den gula klossen framåt?", "push the yellow block forward"),
    ("da", "Skub den røde terning fremad", "push the red block forward"),
    ("fi", "Työnnä vihreää kuutiota vasemmalle", "push the green block to the left"),
    ("et", "Lükka punane klots paremale", "push the red block to the right"),
    ("tr", "mavi blogu biraz ileri itebilir misin?", "push the blue block forward"),
    ("el", "Σήκωσε το κίτρινο τουβλάκι", "pick up the yellow block"),
    ("uk", "Постав червоний кубик на зелений", "stack the red block on the green block"),
    ("cs", "Odstrč modrou kostku doleva", "push the blue block to the left"),
    ("hu", "Lökd jobbra a zöld kockát!", "push the green block to the right"),
    ("ro", "Împinge cubul roșu spre dreapta, te rog", "push the red block to the right"),
    ("hr", "Gurni crvenu kocku ulijevo", "push the red block to the left"),
    ("sl", "Potisni modro kocko naprej", "push the blue block forward"),
    ("id", "tolong taruh balok kuning di atas piring ya", "put the yellow block on the plate"),
    ("vi", "Xếp khối màu xanh lá lên trên khối màu đỏ", "stack the green block on the red block"),
    ("hi", "लाल ब्लॉक को कटोरे में डाल दो", "put the red block in the bowl"),
    ("ar", "ارفع المكعب الأزرق من فضلك", "pick up the blue block"),
    ("he", "דחוף את הקובייה הכחולה שמאלה", "push the blue block to the left"),
    ("fa", "مکعب سبز را به جلو هل بده", "push the green block forward"),
    ("th", "ช่วยผลักบล็อกสีเหลืองไปทางขวาหน่อย", "push the yellow block to the right"),
)

OUT_OF_DOMAIN: tuple[tuple[str, str, str], ...] = (  # (language, subcategory, command)
    ("en", "skill", "paint the green block purple"), ("es", "skill", "corta el bloque rojo por la mitad"),
    ("zh", "skill", "帮我叫一辆出租车"), ("ja", "skill", "積み木でお城を作って"),
    ("it", "skill", "gira il cubo verde di novanta gradi"), ("nl", "skill", "knip dit papier doormidden"),
    ("ko", "skill", "박수 쳐 봐"), ("pl", "skill", "Zamieć podłogę"),
    ("el", "skill", "Άναψε το κλιματιστικό"), ("vi", "skill", "Gọi điện cho mẹ tôi"),
    ("ms", "skill", "Goncang blok merah itu kuat-kuat"), ("bg", "skill", "Изсвири ми нещо на пиано"),
    ("af", "skill", "Draai die radio harder"),
    ("en", "absent", "stack the white cube on the red block"), ("fr", "absent", "mets la balle verte dans le bol"),
    ("de", "absent", "Schieb den lila Klotz nach vorne"), ("ja", "absent", "茶色のブロックをお皿に載せて"),
    ("it", "absent", "spingi il cubo arancione a destra"), ("pt", "absent", "coloque o copo amarelo na tigela"),
    ("nl", "absent", "pak de groene appel op"), ("ru", "absent", "Положи розовый кубик в миску"),
    ("ko", "absent", "흰색 블록을 노란 블록 위에 쌓아 줘"), ("sv", "absent", "lägg den svarta klossen på tallriken"),
    ("hu", "absent", "Tedd a lila kockát a tálba"), ("cs", "absent", "Zvedni tu červenou tužku"),
    ("ar", "absent", "ضع الكرة الصفراء في الوعاء"),
    ("en", "question", "how big is the yellow block?"), ("es", "question", "¿el bloque verde está tocando al azul?"),
    ("fr", "question", "est-ce que le cube jaune est à droite du bol ?"),
    ("de", "question", "Sind alle Klötze gleich groß?"), ("ja", "question", "この積み木は何でできていますか？"),
    ("it", "question", "qual è il tuo colore preferito?"),
    ("pt", "question", "o bloco vermelho está à esquerda ou à direita do verde?"),
    ("ru", "question", "Какого размера синий кубик?"), ("pl", "question", "Ile waży zielony klocek?"),
    ("fi", "question", "Kumpi on isompi, kulho vai lautanen?"), ("tr", "question", "Kırmızı blok mavi bloğun yanında mı?"),
    ("ca", "question", "Quants anys té aquest museu?"), ("th", "question", "บล็อกสีเขียวอยู่ตรงไหน"),
    ("en", "absurd", "pick up the table and turn it over"),
    ("fr", "absurd", "mets le cube bleu à l'intérieur du cube jaune"),
    ("de", "absurd", "Leg den gelben Würfel auf sich selbst"), ("zh", "absurd", "把盘子和碗一起举起来"),
    ("ja", "absurd", "ボウルをひっくり返して"), ("it", "absurd", "infila il blocco rosso dentro il blocco blu"),
    ("pt", "absurd", "empurre a tigela para a direita"), ("ru", "absurd", "Поставь жёлтый кубик сам на себя"),
    ("ko", "absurd", "그릇을 들어서 접시 위에 놓아 줘"), ("sk", "absurd", "Zdvihni stôl"),
    ("uk", "absurd", "Поклади тарілку на миску"), ("id", "absurd", "masukkan balok hijau ke dalam balok kuning"),
    ("he", "absurd", "תרים את הצלחת"),
)

IN_DOMAIN_GOLD: tuple[str, ...] = tuple(gold for _, _, gold in IN_DOMAIN)


def items() -> list[dict]:
    return refusal_items(tuple((lang, text) for lang, text, _ in IN_DOMAIN), OUT_OF_DOMAIN, ())


__all__ = ["IN_DOMAIN", "IN_DOMAIN_GOLD", "OUT_OF_DOMAIN", "items"]
