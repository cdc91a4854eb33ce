"""DEV SET for the command reader's thresholds (`core.language.understand`): out-of-domain and open
commands in the dev languages only (en, es, fr, de, zh, ja), hand-written for tuning. Never trained on
(`core.language.restate_data` holds the training commands; a test checks that none is here) and separate
from the held-out test set (`bench.data.held_out_refusal`). In-domain dev commands come from the dev
wordings (`bench.data.dev_commands.DEV_WORDINGS`, `bench.phrases.DEV_TEMPLATES`): see `dev_in_domain`.
"""

from __future__ import annotations

from bench.data import render
from bench.data.dev_commands import DEV_AMBIGUOUS, DEV_IN, DEV_OUT, DEV_WORDINGS
from bench.data.held_out_commands import COLOURS

# (language, subcategory, command)
OUT: tuple[tuple[str, str, str], ...] = (
    ("en", "skill", "make me a sandwich"), ("en", "skill", "take a photo of the room"),
    ("en", "skill", "turn off the fan"), ("en", "absent", "put the violet block on the plate"),
    ("en", "absent", "push the glass to the right"), ("en", "absent", "lift the apple"),
    ("en", "question", "is the bowl empty?"), ("en", "question", "which block is closest to you"),
    ("en", "absurd", "push the table forward"), ("en", "absurd", "stack the plate on the green block"),
    ("es", "skill", "lava los platos"), ("es", "skill", "abre la puerta"), ("es", "skill", "escribe una carta"),
    ("es", "absent", "pon la manzana en el bol"), ("es", "absent", "levanta el bloque negro"),
    ("es", "question", "¿de qué color es el plato?"), ("es", "question", "qué hora es"),
    ("es", "absurd", "apila el bol sobre el bloque rojo"), ("es", "absurd", "empuja la mesa a la izquierda"),
    ("fr", "skill", "ouvre la porte"), ("fr", "skill", "fais la vaisselle"), ("fr", "skill", "chante une chanson"),
    ("fr", "absent", "prends le bloc violet"), ("fr", "absent", "mets la pomme dans le bol"),
    ("fr", "question", "combien de blocs vois-tu ?"), ("fr", "question", "où est le bloc rouge"),
    ("fr", "absurd", "pose le bol sur l'assiette"), ("fr", "absurd", "soulève la table"),
    ("de", "skill", "öffne die Tür"), ("de", "skill", "mach das Licht aus"), ("de", "skill", "tanz ein bisschen"),
    ("de", "absent", "nimm den orangen Würfel"), ("de", "absent", "leg den Apfel in die Schüssel"),
    ("de", "question", "Welche Farbe hat der Teller?"), ("de", "question", "wie viele Blöcke siehst du"),
    ("de", "absurd", "leg die Schüssel auf den roten Block"), ("de", "absurd", "heb den Tisch hoch"),
    ("zh", "skill", "打开门"), ("zh", "skill", "帮我洗碗"), ("zh", "skill", "跳个舞"),
    ("zh", "absent", "把黑色的方块放在盘子上"), ("zh", "absent", "把苹果放进碗里"),
    ("zh", "question", "盘子是什么颜色的？"), ("zh", "question", "碗里有什么"),
    ("zh", "absurd", "把碗放在红色方块上"), ("zh", "absurd", "把桌子往左推"),
    ("ja", "skill", "ドアを開けて"), ("ja", "skill", "歌を歌って"), ("ja", "skill", "お茶をいれて"),
    ("ja", "absent", "紫のブロックを持ち上げて"), ("ja", "absent", "りんごをボウルに入れて"),
    ("ja", "question", "ブロックはいくつありますか？"), ("ja", "question", "赤いブロックはどこ"),
    ("ja", "absurd", "ボウルを赤いブロックの上に置いて"), ("ja", "absurd", "お皿を右に押して"),
) + DEV_OUT

AMBIGUOUS: tuple[tuple[str, str], ...] = (
    ("en", "push the block forward"), ("en", "stack the blocks"), ("es", "pon el bloque en el plato"),
    ("es", "empuja el cubo a la derecha"), ("fr", "mets le cube dans le bol"), ("fr", "pousse le bloc en avant"),
    ("de", "Schieb den Würfel nach rechts"), ("de", "Nimm den Block"), ("zh", "拿起方块"), ("zh", "把积木放进碗里"),
    ("ja", "ブロックをお皿に置いて"), ("ja", "ブロックを左に押して"),
) + DEV_AMBIGUOUS


def dev_in_domain(per_language: int = 12) -> list[tuple[str, str, str]]:
    """(language, instruction, command): the dev wordings rendered over the colours, `per_language` of each
    dev language (every kind, colours rotated), plus the dev set's own in-domain items (instruction None)."""
    from core.robot.tasks import all_tasks

    out: list[tuple[str, str, str]] = []
    tasks = all_tasks()
    for lang, kinds in DEV_WORDINGS.items():
        n = 0
        for i, task in enumerate(tasks):
            options = kinds[task.kind]
            tpl = options[i % len(options)]
            target = task.target.split()[0] if task.kind == "stack" and task.target else None
            if i % max(1, len(tasks) // per_language):
                continue
            out.append((lang, task.instruction, render(tpl, COLOURS[lang], task.obj.split()[0], target)))
            n += 1
    return out + [(lang, "", text) for lang, text in DEV_IN]
