"""HELD-OUT TEST SET — NEVER use these commands for training, and never use them (or the benchmark's
results on them) to choose a setting: no threshold, weight, prompt, lexicon entry or checkpoint may be
picked by looking at how it does here. Tune on `bench.data.dev_commands` instead.

Task commands of the in-app benchmark, hand-written as people type them: every task kind
(`core.robot.tasks.TASK_KINDS`) in several wordings per language. The dev languages (en, es, fr, de, zh,
ja) are the ones engineers may tune on with the dev set; the held-out languages (it, pt, nl, ru, ko, pl)
must never be used to choose anything, not even through the dev set. The English set includes each
kind's canonical instruction ("pick up the red block", what a visitor most often types) beside new
wordings; none of the others is one of the restater's training rewordings (`core.language.paraphrase`)
or a wording of `bench/phrases.py`.

Slots: `{c}` the moved block's colour, `{t}` the target block's colour (stack), with a form suffix where
the language inflects (`bench.data.render`).
"""

from __future__ import annotations

DEV_LANGUAGES = ("en", "es", "fr", "de", "zh", "ja")
HELD_OUT_LANGUAGES = ("it", "pt", "nl", "ru", "ko", "pl")
LANGUAGES = DEV_LANGUAGES + HELD_OUT_LANGUAGES

_RGBY = ("red", "green", "blue", "yellow")


def _forms(**forms: str) -> dict[str, dict[str, str]]:
    """`_forms(_="rojo verde azul amarillo", f="roja verde azul amarilla")` -> {"": {...}, "f": {...}}."""
    return {("" if k == "_" else k): dict(zip(_RGBY, v.split("|"))) for k, v in forms.items()}


COLOURS: dict[str, dict[str, dict[str, str]]] = {
    "en": _forms(_="red|green|blue|yellow"),
    "es": _forms(_="rojo|verde|azul|amarillo", f="roja|verde|azul|amarilla"),
    "fr": _forms(_="rouge|vert|bleu|jaune", f="rouge|verte|bleue|jaune"),
    "de": _forms(_="roten|grünen|blauen|gelben", e="rote|grüne|blaue|gelbe"),
    "zh": _forms(_="红色|绿色|蓝色|黄色", s="红|绿|蓝|黄"),
    "ja": _forms(_="赤い|緑の|青い|黄色い", n="赤|緑|青|黄色"),
    "it": _forms(_="rosso|verde|blu|giallo", f="rossa|verde|blu|gialla"),
    "pt": _forms(_="vermelho|verde|azul|amarelo", f="vermelha|verde|azul|amarela"),
    "nl": _forms(_="rode|groene|blauwe|gele"),
    "ru": _forms(_="красный|зелёный|синий|жёлтый", f="красную|зелёную|синюю|жёлтую"),
    "ko": _forms(_="빨간|초록|파란|노란", n="빨간색|초록색|파란색|노란색"),
    "pl": _forms(_="czerwony|zielony|niebieski|żółty", f="czerwoną|zieloną|niebieską|żółtą",
                 loc="czerwonym|zielonym|niebieskim|żółtym", floc="czerwonej|zielonej|niebieskiej|żółtej"),
}

WORDINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "pick": ("pick up the {c} block", "lift the {c} block off the table",
                 "could you take hold of the {c} block and raise it", "I'd like the {c} block picked up"),
        "put_in": ("put the {c} block in the bowl", "drop the {c} one in the bowl",
                   "the {c} block goes in the bowl, please", "pop the {c} cube into the bowl"),
        "put_on": ("put the {c} block on the plate", "set the {c} block down on the plate",
                   "move the {c} cube over onto the plate", "the {c} block belongs on the plate, put it there"),
        "push_left": ("push the {c} block to the left", "give the {c} block a shove to the left",
                      "slide the {c} block over to the left without lifting it", "move the {c} block left by pushing it"),
        "push_right": ("push the {c} block to the right", "give the {c} block a shove to the right",
                       "slide the {c} block over to the right without lifting it",
                       "move the {c} block right by pushing it"),
        "push_forward": ("push the {c} block forward", "push the {c} block further away from you",
                         "slide the {c} cube forward along the table", "give the {c} block a push forwards"),
        "stack": ("stack the {c} block on the {t} block", "build a little tower with the {c} block on the {t} block",
                  "set the {c} cube down on top of the {t} cube", "pile the {c} block onto the {t} block"),
    },
    "es": {
        "pick": ("levanta el bloque {c}", "coge el cubo {c} y súbelo", "toma la pieza {c_f} y levántala",
                 "alza el bloque {c} de la mesa"),
        "put_in": ("mete el bloque {c} en el bol", "echa el cubo {c} dentro del cuenco",
                   "lleva la pieza {c_f} al bol y suéltala dentro"),
        "put_on": ("coloca el cubo {c} en el plato", "lleva el bloque {c} hasta el plato y déjalo ahí",
                   "pon la pieza {c_f} encima del plato"),
        "push_left": ("desliza el bloque {c} hacia la izquierda", "empuja el cubo {c} para la izquierda",
                      "arrastra la pieza {c_f} a la izquierda sin levantarla"),
        "push_right": ("desliza el bloque {c} hacia la derecha", "empuja el cubo {c} para la derecha",
                       "arrastra la pieza {c_f} a la derecha sin levantarla"),
        "push_forward": ("desliza el bloque {c} hacia delante", "empuja el cubo {c} hacia el fondo",
                         "aleja la pieza {c_f} empujándola hacia adelante"),
        "stack": ("coloca el cubo {c} encima del {t}", "haz una torre poniendo el bloque {c} sobre el bloque {t}",
                  "deja la pieza {c_f} arriba de la pieza {t_f}"),
    },
    "fr": {
        "pick": ("soulève le bloc {c}", "saisis le cube {c} et lève-le", "ramasse la pièce {c_f}",
                 "attrape le bloc {c} et monte-le"),
        "put_in": ("dépose le bloc {c} dans le bol", "fais tomber le cube {c} dans le bol",
                   "mets la pièce {c_f} à l'intérieur du bol"),
        "put_on": ("dépose le bloc {c} sur l'assiette", "pose la pièce {c_f} dans l'assiette",
                   "amène le cube {c} jusqu'à l'assiette et lâche-le dessus"),
        "push_left": ("fais glisser le bloc {c} vers la gauche", "pousse la pièce {c_f} sur la gauche",
                      "décale le cube {c} vers la gauche en le poussant"),
        "push_right": ("fais glisser le bloc {c} vers la droite", "pousse la pièce {c_f} sur la droite",
                       "décale le cube {c} vers la droite en le poussant"),
        "push_forward": ("fais glisser le bloc {c} vers l'avant", "pousse la pièce {c_f} plus loin devant",
                         "éloigne le cube {c} en le poussant vers l'avant"),
        "stack": ("mets le bloc {c} sur le bloc {t}", "pose la pièce {c_f} au-dessus de la pièce {t_f}",
                  "fais une tour en posant le cube {c} sur le cube {t}"),
    },
    "de": {
        "pick": ("Nimm den {c} Klotz hoch", "Heb bitte den {c} Baustein an", "Greif dir den {c} Block und heb ihn an",
                 "das {c_e} Klötzchen aufheben"),
        "put_in": ("Pack den {c} Baustein in die Schüssel", "Steck das {c_e} Klötzchen in die Schüssel",
                   "Bring den {c} Klotz zur Schale und lass ihn hineinfallen"),
        "put_on": ("Setz den {c} Klotz auf den Teller", "Leg das {c_e} Klötzchen auf dem Teller ab",
                   "Platziere den {c} Baustein auf dem Teller"),
        "push_left": ("Verschieb den {c} Baustein nach links", "Drück das {c_e} Klötzchen nach links",
                      "Schubs den {c} Block nach links"),
        "push_right": ("Verschieb den {c} Baustein nach rechts", "Schubs das {c_e} Klötzchen nach rechts",
                       "Gib dem {c} Klotz einen Schubs nach rechts"),
        "push_forward": ("Verschieb den {c} Baustein nach vorne", "Schubs das {c_e} Klötzchen nach vorn",
                         "Drück den {c} Klotz von dir weg nach vorne"),
        "stack": ("Stell den {c} Klotz auf den {t} Klotz", "Leg das {c_e} Klötzchen oben auf das {t_e} Klötzchen",
                  "Bau einen Turm: den {c} Baustein auf den {t} Baustein"),
    },
    "zh": {
        "pick": ("请把{c}积木举起来", "抓起那个{c}的木块", "把{c_s}积木提起来", "捡起{c}的积木"),
        "put_in": ("把{c}积木丢进碗里", "请将{c}的木块放入碗中", "把那块{c}积木装到碗里"),
        "put_on": ("把{c}积木摆到盘子上", "请将{c}的木块放在碟子上", "把{c}积木搬到盘子上放下"),
        "push_left": ("把{c}积木往左推", "请将{c}的木块向左边推过去", "把{c}积木推向左侧"),
        "push_right": ("把{c}积木往右推", "请将{c}的木块向右边推过去", "把{c}积木推向右侧"),
        "push_forward": ("把{c}积木往前推", "请将{c}的木块向前推出去", "把{c}积木朝前方推"),
        "stack": ("把{c}积木摞在{t}积木上", "请将{c}的木块叠到{t}的木块上面", "把{c}积木放到{t}积木的顶上"),
    },
    "ja": {
        "pick": ("{c}積み木をつかんで持ち上げて", "{c_n}のキューブを拾ってください", "{c}ブロックを手に取って上に上げて"),
        "put_in": ("{c}積み木をボウルに入れてちょうだい", "{c_n}のキューブをボウルの中へ落として",
                   "{c}ブロックをつかんで、ボウルにしまって"),
        "put_on": ("{c}積み木を皿に載せて", "{c_n}のキューブをお皿の上に置いてね", "{c}ブロックをプレートに乗せてください"),
        "push_left": ("{c}積み木を左へずらして", "{c_n}のキューブを左側に押しやって", "{c}ブロックを左の方へ押してずらしてください"),
        "push_right": ("{c}積み木を右へずらして", "{c_n}のキューブを右側に押しやって", "{c}ブロックを右の方へ押してずらしてください"),
        "push_forward": ("{c}積み木を奥へ押して", "{c_n}のキューブを前方へ押しやって", "{c}ブロックを前に滑らせてください"),
        "stack": ("{c}積み木を{t}積み木の上に載せて", "{c_n}のキューブを{t_n}のキューブに積み重ねて",
                  "{c}ブロックを{t}ブロックの上に重ねて置いてください"),
    },
    "it": {
        "pick": ("prendi il blocco {c}", "solleva il cubo {c}", "afferra il cubetto {c} e alzalo",
                 "tira su il mattoncino {c}"),
        "put_in": ("metti il blocco {c} nella ciotola", "posa il cubo {c} dentro la scodella",
                   "lascia cadere il cubetto {c} nella ciotola"),
        "put_on": ("metti il blocco {c} sul piatto", "appoggia il cubo {c} sul piatto",
                   "porta il cubetto {c} sul piatto e lascialo lì"),
        "push_left": ("spingi il blocco {c} a sinistra", "fai scivolare il cubo {c} verso sinistra",
                      "sposta il cubetto {c} a sinistra spingendolo"),
        "push_right": ("spingi il blocco {c} a destra", "fai scivolare il cubo {c} verso destra",
                       "sposta il cubetto {c} a destra spingendolo"),
        "push_forward": ("spingi il blocco {c} in avanti", "fai scivolare il cubo {c} in avanti",
                         "allontana il cubetto {c} spingendolo in avanti"),
        "stack": ("impila il blocco {c} sul blocco {t}", "metti il cubo {c} sopra il cubo {t}",
                  "appoggia il cubetto {c} in cima al cubetto {t}"),
    },
    "pt": {
        "pick": ("pegue o bloco {c}", "levanta o cubo {c}", "apanhe a peça {c_f} e levante-a", "erga o bloco {c}"),
        "put_in": ("coloque o bloco {c} na tigela", "põe o cubo {c} dentro da tigela", "deixe a peça {c_f} cair na tigela"),
        "put_on": ("coloque o bloco {c} no prato", "pousa o cubo {c} em cima do prato",
                   "leve a peça {c_f} até o prato e solte-a lá"),
        "push_left": ("empurre o bloco {c} para a esquerda", "deslize o cubo {c} para a esquerda",
                      "arraste a peça {c_f} para a esquerda"),
        "push_right": ("empurre o bloco {c} para a direita", "deslize o cubo {c} para a direita",
                       "arraste a peça {c_f} para a direita"),
        "push_forward": ("empurre o bloco {c} para a frente", "deslize o cubo {c} para a frente",
                         "afaste a peça {c_f} empurrando-a para a frente"),
        "stack": ("empilhe o bloco {c} sobre o bloco {t}", "coloque o cubo {c} em cima do cubo {t}",
                  "ponha a peça {c_f} por cima da peça {t_f}"),
    },
    "nl": {
        "pick": ("pak het {c} blok op", "til de {c} kubus op", "neem het {c} blokje en til het omhoog"),
        "put_in": ("leg het {c} blok in de kom", "doe de {c} kubus in de kom", "stop het {c} blokje in de schaal"),
        "put_on": ("leg het {c} blok op het bord", "zet de {c} kubus op het bord", "plaats het {c} blokje op het bordje"),
        "push_left": ("duw het {c} blok naar links", "schuif de {c} kubus naar links",
                      "geef het {c} blokje een duw naar links"),
        "push_right": ("duw het {c} blok naar rechts", "schuif de {c} kubus naar rechts",
                       "geef het {c} blokje een duw naar rechts"),
        "push_forward": ("duw het {c} blok naar voren", "schuif de {c} kubus naar voren", "duw het {c} blokje van je af"),
        "stack": ("stapel het {c} blok op het {t} blok", "zet de {c} kubus bovenop de {t} kubus",
                  "leg het {c} blokje op het {t} blokje"),
    },
    "ru": {
        "pick": ("подними {c} кубик", "возьми {c} блок и подними его", "подбери {c_f} деталь"),
        "put_in": ("положи {c} кубик в миску", "опусти {c} блок в миску", "помести {c_f} деталь в чашу"),
        "put_on": ("положи {c} кубик на тарелку", "поставь {c} блок на тарелку", "перенеси {c_f} деталь на тарелку"),
        "push_left": ("подвинь {c} кубик влево", "толкни {c} блок налево", "сдвинь {c_f} деталь влево"),
        "push_right": ("подвинь {c} кубик вправо", "толкни {c} блок направо", "сдвинь {c_f} деталь вправо"),
        "push_forward": ("подвинь {c} кубик вперёд", "толкни {c} блок вперёд", "отодвинь {c_f} деталь вперёд"),
        "stack": ("поставь {c} кубик на {t} кубик", "положи {c} блок сверху на {t} блок",
                  "сложи башенку: {c} кубик на {t}"),
    },
    "ko": {
        "pick": ("{c} 블록을 들어 올려", "{c_n} 큐브를 집어 줘", "{c} 블록을 잡아서 위로 들어 주세요"),
        "put_in": ("{c} 블록을 그릇에 넣어", "{c_n} 큐브를 그릇 안에 넣어 주세요", "{c} 블록을 집어서 볼에 담아 줘"),
        "put_on": ("{c} 블록을 접시 위에 놓아", "{c_n} 큐브를 접시에 올려 주세요", "{c} 블록을 접시로 옮겨 놓아 줘"),
        "push_left": ("{c} 블록을 왼쪽으로 밀어", "{c_n} 큐브를 왼쪽으로 밀어 주세요", "{c} 블록을 왼편으로 밀어서 옮겨 줘"),
        "push_right": ("{c} 블록을 오른쪽으로 밀어", "{c_n} 큐브를 오른쪽으로 밀어 주세요", "{c} 블록을 오른편으로 밀어서 옮겨 줘"),
        "push_forward": ("{c} 블록을 앞으로 밀어", "{c_n} 큐브를 앞쪽으로 밀어 주세요", "{c} 블록을 앞으로 밀어서 옮겨 줘"),
        "stack": ("{c} 블록을 {t} 블록 위에 쌓아", "{c_n} 큐브를 {t_n} 큐브 위에 올려 주세요",
                  "{c} 블록을 {t} 블록 위에 올려 쌓아 줘"),
    },
    "pl": {
        "pick": ("podnieś {c} klocek", "weź {c_f} kostkę i ją podnieś", "chwyć {c} klocek i unieś go"),
        "put_in": ("włóż {c} klocek do miski", "wrzuć {c_f} kostkę do miski", "umieść {c} klocek w misce"),
        "put_on": ("połóż {c} klocek na talerzu", "odłóż {c_f} kostkę na talerz", "przenieś {c} klocek na talerz"),
        "push_left": ("przesuń {c} klocek w lewo", "popchnij {c_f} kostkę w lewo", "pchnij {c} klocek na lewo"),
        "push_right": ("przesuń {c} klocek w prawo", "popchnij {c_f} kostkę w prawo", "pchnij {c} klocek na prawo"),
        "push_forward": ("przesuń {c} klocek do przodu", "popchnij {c_f} kostkę naprzód", "odsuń {c} klocek do przodu"),
        "stack": ("postaw {c} klocek na {t_loc} klocku", "połóż {c_f} kostkę na {t_floc} kostce",
                  "ułóż {c} klocek na {t_loc} klocku, żeby powstała wieża"),
    },
}
