"""The word lists in fourteen more languages: Catalan, Slovak, Croatian, Slovenian, Bulgarian, Lithuanian,
Latvian, Estonian, Malay, Tagalog, Hebrew, Thai, Persian and Swahili (pure data).

Same shape and rules as the lists they extend (`core.language.wordlists`): {label: {language: "forms"}};
"x-" a stem, "x~" a Slavic adjective stem; Thai forms are matched as substrings (no spaces between words).
Written out once from dictionaries, never fitted to a benchmark's items. Left out, as elsewhere, are forms that
are also common words of another language's commands: Estonian "must" (black) and "hall" (grey) are English,
Latvian "labi" (right) is "well", Hebrew "חום" (brown) is "heat", a bare Slovenian "bel-" stem would take
English "below", Lithuanian "rud-" (brown) English "rude" and Czech "rudý" (red), Tagalog "harap" (front) is
Malay "please", Bulgarian "чаша" (cup) is a Russian word for the bowl.
"""

from __future__ import annotations

COLORS: dict[str, dict[str, str]] = {
    "red": {"ca": "vermell vermella vermells vermelles", "sk": "červen~", "hr": "crven-", "sl": "rdeč-",
            "bg": "червен-", "lt": "raudon-", "lv": "sarkan-", "et": "punane punase punast", "ms": "merah",
            "tl": "pula", "he": "אדום אדומה האדום האדומה", "th": "แดง", "fa": "قرمز سرخ", "sw": "nyekundu"},
    "green": {"ca": "verd verda verds verdes", "sk": "zelen~", "hr": "zelen-", "sl": "zelen-", "bg": "зелен-",
              "lt": "žali-", "lv": "zaļ-", "et": "roheline rohelise rohelist", "ms": "hijau", "tl": "berde",
              "he": "ירוק ירוקה הירוק הירוקה", "th": "เขียว", "fa": "سبز", "sw": "kijani"},
    "blue": {"ca": "blau blava blaus blaves", "sk": "modr~", "hr": "plav- modr-", "sl": "moder modra modro modri modre",
             "bg": "син-", "lt": "mėlyn-", "lv": "zil-", "et": "sinine sinise sinist", "ms": "biru", "tl": "asul bughaw",
             "he": "כחול כחולה הכחול הכחולה", "th": "น้ำเงิน ฟ้า", "fa": "آبی", "sw": "bluu buluu"},
    "yellow": {"ca": "groc groga grocs grogues", "sk": "žlt~", "hr": "žut-", "sl": "rumen-", "bg": "жълт-",
               "lt": "gelton-", "lv": "dzelten-", "et": "kollane kollase kollast", "ms": "kuning", "tl": "dilaw",
               "he": "צהוב צהובה הצהוב הצהובה", "th": "เหลือง", "fa": "زرد", "sw": "njano manjano"},
    "purple": {"ca": "lila morat morada", "sk": "fialov~", "hr": "ljubičast-", "sl": "vijoličn-", "bg": "лилав-",
               "lt": "violetin-", "lv": "violet-", "et": "lilla", "ms": "ungu", "tl": "lila",
               "he": "סגול סגולה הסגול הסגולה", "th": "ม่วง", "fa": "بنفش", "sw": "zambarau"},
    "orange": {"ca": "taronja", "sk": "oranžov~", "hr": "narančast-", "sl": "oranžn-", "bg": "оранжев-",
               "lt": "oranžin-", "lv": "oranž-", "et": "oranž oranži", "ms": "oren jingga", "tl": "kahel",
               "he": "כתום כתומה הכתום הכתומה", "th": "ส้ม", "fa": "نارنجی", "sw": "machungwa"},
    "pink": {"ca": "rosa roses", "sk": "ružov~", "hr": "ružičast-", "sl": "roza rožnat-", "bg": "розов-",
             "lt": "rožin-", "lv": "rozā", "et": "roosa", "tl": "rosas", "he": "ורוד ורודה הוורוד הוורודה",
             "th": "ชมพู", "fa": "صورتی", "sw": "waridi"},
    "brown": {"ca": "marró marrons", "sk": "hned~", "hr": "smeđ-", "sl": "rjav-", "bg": "кафяв-", "lt": "rudas rudą rudos rudasis",
              "lv": "brūn-", "et": "pruun pruuni", "ms": "coklat perang", "tl": "kayumanggi", "th": "น้ำตาล",
              "sw": "kahawia"},
    "black": {"ca": "negre negra negres", "sk": "čiern~", "hr": "crn-", "sl": "črn-", "bg": "черн-", "lt": "juod-",
              "lv": "melns melna melno melnais melnā", "et": "musta musti", "ms": "hitam", "tl": "itim",
              "he": "שחור שחורה השחור השחורה", "th": "ดำ", "fa": "سیاه مشکی", "sw": "nyeusi"},
    "white": {"ca": "blanc blanca blancs blanques", "sk": "biel~", "hr": "bijel-", "sl": "bel bela belo beli bele",
              "bg": "бял бяла бяло бели белия бялата", "lt": "balt-", "lv": "balt-", "et": "valge valget",
              "ms": "putih", "tl": "puti", "he": "לבן לבנה הלבן הלבנה", "th": "ขาว", "fa": "سفید", "sw": "nyeupe"},
    "grey": {"ca": "gris grisa grisos grises", "sk": "siv~", "hr": "siv-", "sl": "siv-", "bg": "сив-", "lt": "pilk-",
             "lv": "pelēk-", "et": "halli", "ms": "kelabu", "tl": "abo", "he": "אפור אפורה האפור האפורה",
             "th": "เทา", "fa": "خاکستری", "sw": "kijivu"},
}

PLACES: dict[str, dict[str, str]] = {
    "bowl": {"ca": "bol bols", "sk": "misk- misa", "hr": "zdjel-", "sl": "skled-", "bg": "купа купата",
             "lt": "duben-", "lv": "bļod-", "et": "kauss kaussi kausi", "ms": "mangkuk", "tl": "mangkok",
             "he": "קערה הקערה לקערה בקערה", "th": "ชาม", "fa": "کاسه", "sw": "bakuli"},
    "plate": {"ca": "plat plats", "sk": "tanier-", "hr": "tanjur-", "sl": "krožnik-", "bg": "чини-", "lt": "lėkšt-",
              "lv": "šķīv-", "et": "taldrik-", "ms": "pinggan", "tl": "plato pinggan", "he": "צלחת הצלחת לצלחת בצלחת",
              "th": "จาน", "fa": "بشقاب", "sw": "sahani"},
    "left": {"ca": "esquerra", "sk": "doľava vľavo", "hr": "lijevo ulijevo", "sl": "levo", "bg": "наляво ляво",
             "lt": "kairę kairėn", "lv": "kreisi", "et": "vasakule", "ms": "kiri", "tl": "kaliwa pakaliwa",
             "he": "שמאלה שמאל", "th": "ซ้าย", "fa": "چپ", "sw": "kushoto"},
    "right": {"ca": "dreta", "sk": "doprava vpravo", "hr": "desno udesno", "sl": "desno", "bg": "надясно дясно",
              "lt": "dešinę dešinėn", "et": "paremale", "ms": "kanan", "tl": "kanan pakanan", "he": "ימינה ימין",
              "th": "ขวา", "fa": "راست", "sw": "kulia"},
    "forward": {"ca": "endavant davant", "sk": "dopredu", "hr": "naprijed", "sl": "naprej", "bg": "напред",
                "lt": "pirmyn priekį", "lv": "priekšu", "et": "edasi ette", "ms": "hadapan", "tl": "pasulong",
                "he": "קדימה", "th": "ข้างหน้า", "fa": "جلو", "sw": "mbele"},
}

TABLE: dict[str, str] = {
    "ca": "taula", "sk": "stôl stola stole stolom", "hr": "stol stola stolu", "sl": "miza mize mizi",
    "bg": "маса масата", "lt": "stal-", "lv": "galds galda galdu", "et": "laud laua lauale", "ms": "meja",
    "tl": "mesa", "he": "שולחן השולחן", "th": "โต๊ะ", "fa": "میز", "sw": "meza",
}

LIFT: dict[str, str] = {
    "ca": "agafa aixeca pren agafar aixecar", "sk": "zdvihni vezmi zober", "hr": "podigni uzmi", "sl": "dvigni vzemi",
    "bg": "вдигни вземи", "lt": "pakelk paimk", "lv": "pacel paņem", "et": "tõsta võta", "ms": "angkat ambil",
    "tl": "kunin buhatin damputin", "he": "הרם תרים קח תיקח הרימי", "th": "หยิบ ยกขึ้น", "fa": "بردار",
    "sw": "inua chukua",
}

OBJECTS: dict[str, dict[str, str]] = {
    "ball": {"ca": "pilota", "sk": "lopt-", "hr": "lopt-", "sl": "žog-", "bg": "топк-", "lt": "kamuol-",
             "lv": "bumb-", "et": "pall palli", "tl": "bola", "he": "כדור הכדור", "th": "ลูกบอล", "fa": "توپ",
             "sw": "mpira"},
    "cup": {"ca": "tassa", "sk": "hrnček- šálk-", "hr": "šalic-", "sl": "skodelic-", "lt": "puodel-",
            "lv": "krūz-", "et": "tass tassi", "ms": "cawan", "tl": "tasa", "he": "ספל הספל", "th": "แก้ว ถ้วย",
            "fa": "فنجان لیوان", "sw": "kikombe"},
    "bottle": {"ca": "ampolla", "sk": "fľaš-", "hr": "boca bocu boce", "sl": "steklenic-", "bg": "бутилк-", "lt": "butel-",
               "lv": "pudel-", "et": "pudel-", "ms": "botol", "tl": "bote", "he": "בקבוק הבקבוק", "th": "ขวด",
               "fa": "بطری", "sw": "chupa"},
    "fruit": {"ca": "poma plàtan", "sk": "jablk- banán-", "hr": "jabuk- banan-", "sl": "jabolk- banan-",
              "bg": "ябълк- банан-", "lt": "obuol- banan-", "lv": "ābol- banān-", "et": "õun õuna banaan-",
              "ms": "epal pisang", "tl": "mansanas saging", "he": "תפוח התפוח בננה הבננה", "th": "แอปเปิล กล้วย",
              "fa": "سیب موز", "sw": "tufaha ndizi"},
    "phone": {"ca": "telèfon mòbil", "sk": "telefón-", "hr": "mobitel-", "sl": "telefon-", "bg": "телефон-",
              "lt": "telefon-", "lv": "telefon-", "et": "telefon-", "ms": "telefon", "tl": "telepono",
              "he": "טלפון הטלפון", "th": "โทรศัพท์", "fa": "تلفن گوشی", "sw": "simu"},
}

# the opening of a request put as a question, and words of politeness (`core.language.understand`)
REQUEST_OPENINGS = ("pots", "podries", "podeu", "môžeš", "mohol by si", "možeš", "možete", "biste li", "lahko",
                    "можеш", "може ли", "ar gali", "galėtum", "vai vari", "kas sa saaksid", "boleh", "pwede",
                    "puwede", "תוכל", "אפשר", "ช่วย", "میتونی", "می‌توانی", "unaweza")
POLITE = ("si us plau", "molim", "prosim", "моля", "prašau", "lūdzu", "palun", "paki", "בבקשה", "กรุณา", "لطفا",
          "tafadhali")


def merged(base: dict[str, dict[str, str]], more: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """`base` with `more`'s languages added to each label (a label `base` lacks is not added)."""
    return {label: {**langs, **more.get(label, {})} for label, langs in base.items()}


__all__ = ["COLORS", "LIFT", "OBJECTS", "PLACES", "POLITE", "REQUEST_OPENINGS", "TABLE", "merged"]
