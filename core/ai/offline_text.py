"""Text helpers for the offline model: clean mail/chat text, split sentences, tokenise, find noun phrases."""

from __future__ import annotations

import html
import re

from core.ai.redact import redact


def word_set(text: str) -> frozenset[str]:
    """A word list written as one whitespace-separated string."""
    return frozenset(text.split())


STOPWORDS = word_set("""
a about above actually after again against ago all almost alright already also although always am among an and another
any anybody anyhow anymore anyone anything anyway anyways anywhere are aren't around as at away b4 back be became
because become been before being below besides between both but by can can't cannot cant could couldn't couldnt did
didn't didnt do does doesn't doesnt don't dont doing done down during each either else enough etc even ever every
everybody everyone everything few for from further had hadn't has hasn't have haven't having he he'd he's her here
hers herself him himself his how however i i'd i'll i'm i've ie if im in instead into is isn't it it'd it'll it's its
itself ive just least less let let's lot lots many may maybe me might mine more most much must my myself neither never
next no nobody none nor not nothing now of off often oh ok okay on once one ones only onto or other others otherwise
our ours ourselves out over own per perhaps please pls plz quite rather re really same several shall she she'd she's
should shouldn't since so some somebody someone something sometimes somewhat somewhere soon still such sure than that
that's the their theirs them themselves then there there's these they they'd they'll they're they've this those though
through thru thus till to today tomorrow tonight too toward towards u under unless until up upon ur us very via was
wasn't wat we we'd we'll we're we've well were weren't what what's whatever when whenever where whereas wherever
whether which while who who's whoever whole whom whose why will with within without won't wont would wouldn't yeah yes
yesterday yet idk iv imo tbh btw fyi yall you you'd you'll you're you've your yours yourself yourselves y'all
""")
# Verbs and adverbs that carry no topic: they never sit inside a key phrase.
VERBS = word_set("""
accept accepted accepting allow allowed allows appreciate appreciated ask asked asking beg believe call called came
come comes coming contain contains decided depart enjoy feel felt find found get gets getting give given gives giving
go goes going gone got gotten guess happen happened happening happens have having hear heard help helped helping helps
hope hoping include includes including involve involving keep keeps kept knew know knows known like liked look looked
looking looks make makes making made mean means meant mention mentioned named need needed needs noticed provide
provides put require requires rolling run running runs ran said say saying says saw see seeing seem seemed seems seen
showing sit sitting stating suppose supposed take taken takes taking tell telling tells thank thanked thanks think
thinking thought told tried tries try trying use used uses using want wanted wanting wants watch went wonder wondered
wondering wrote write written also again almost already anyway apparently basically certainly currently definitely
exactly finally hopefully immediately literally maybe obviously probably recently simply suddenly totally
unfortunately usually fix fixed fixing work works worked change changes changed changing set sets ah
""")


def _inflected(stems: str) -> frozenset[str]:
    forms: set[str] = set()
    for stem in stems.split():
        base = stem[:-1] if stem.endswith("e") else stem
        forms.update((stem, stem + "s", base + "ed", base + "ing", stem + "es", stem + "d"))
    return frozenset(forms)


# Common verbs that are rarely nouns in a support request ("exists", "borrowed", "dials" stay out of key phrases).
VERBS = VERBS | _inflected("""
act add agree appear apply arrive assume avoid become begin belong borrow bring buy carry choose complain consider
continue create decide deliver depend describe deserve destroy dial disappear discover enable ensure exist expect
explain follow forget ignore imagine improve indicate kill learn leave listen lose manage notice obtain occur own pick
prefer prepare pretend prevent produce prove realise realize receive recommend reduce refer refuse relate remain
remember remove replace resolve respond sell send serve solve speak suggest teach tend understand
""") | word_set("sent sold told bought brought taught caught left lost paid did gave knew came sat stood held meant "
                 "met spent led heard chose chosen fell forgot forgotten hid began begun broke")
# Nouns too vague to name a ticket on their own (they may still sit inside a longer phrase).
GENERIC = word_set("""
problem problems prob probs issue issues question questions help advice idea ideas thing things stuff way ways
anyone time times day days week weeks month months year years night morning afternoon evening people guys guy folks
folk list lists bit hi hello hey dear thanks thank cheers regards hmm hehe lol sorry info information suggestion
suggestions answer answers reply replies response support team newbie newbies advise situation matter kind sort end
start case point reason reasons part bunch ton tons crap load hassle bro dude friend friends error errors
""")
# Adjectives that only qualify: dropped at the start of a phrase, and they end a phrase elsewhere.
WEAK_ADJECTIVES = word_set("""
new old first last second whole same different other latest recent current certain full main little big small real
right wrong simple easy strange weird normal following particular specific many several various extra additional
available possible necessary able free good great nice bad fine best better quick urgent important interesting
annoying definite exact total multiple glad happy sad past couple long short quiet whatever broken dead stuck
frozen missing
""")
DETERMINERS = word_set("a an the my your our his her their its this that these those some any no every each")
LY_NOUNS = word_set("family reply supply assembly anomaly italy rally ally july fly only")
_ING_NOUNS = word_set("""
string thing nothing something anything everything setting settings building morning evening spring ring king wing
ceiling offering meeting mailing streaming billing pricing shipping booking logging networking routing printing
scripting loading rendering sharpening processing accounting hosting sharing caching tracking banking messaging
forwarding spelling warning listing posting recording training marketing programming computing filtering
""")
_PLURAL_MODIFIERS = word_set("news sales series status analysis windows linux settings options contacts ads access "
                             "plus bus gps dns ios macos nvidia sms")
_AUX_BEFORE_ING = word_set("am is are was were be been being i'm it's keep keeps kept stop stopped start started "
                           "begin began avoid tried try trying he's she's we're they're you're")

_QUOTE_CUT = re.compile(
    r"^(?:-{2,}\s*(?:original message|forwarded message)\s*-{2,}|-----begin pgp signature-----|_{10,}\s*$"
    r"|\S+ mailing list\s*$|to unsubscribe\b.*|.*\blistinfo\b.*|do you yahoo!?.*|this sf\.net email is sponsored.*)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(r"(?:thanks|thank you|thanks a lot|many thanks|cheers|regards|best regards|kind regards|best"
                       r"|rgds|ta|sincerely|yours|tia|later|any help (?:would be )?(?:greatly )?appreciated)"
                       r"(?: in advance)?[\s,.!]*(?:-*\s*\w+)?$|[=*~_-]{10,}$", re.IGNORECASE)
_FOREIGN = word_set("der die das und ist nicht ein eine es weil ich sie wir mit auf los las el la que en una por para "
                    "le les et est pas je vous une avec dans sont")
_ATTRIBUTION = re.compile(r"(?:\bwrote|\bwrites)\W{0,3}$|^quoting\b.*:$", re.IGNORECASE)
_HEADER_LINE = re.compile(r"^(?:from|sent|to|cc|subject|date|hash|reply-to):\s", re.IGNORECASE)
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)\S+|\S+\.(?:com|net|org|ie|io)/\S*", re.IGNORECASE)
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|tr)\s*(?:\[\d+\])?\s*:\s*|\[[^\]]{1,30}\]\s*)+", re.IGNORECASE)
_SUBJECT_NOISE = re.compile(
    r"\[[^\]]{1,30}\]|\((?:help|urgent|long|was:?[^)]*|fwd)[^)]*\)|\b(?:ot|urgent|fyi|newbie|q)\s*:"
    r"|:-?[)(dp]|;-?\)|\bplease help\b|\bhelp needed\b|\bany ideas\b|!+",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|dear|folks|all|guys|everyone|everybody|ladies|there|team|ok|okay|so|well|hmm+|"
    r"hehe|good (?:morning|afternoon|evening)|greetings|thanks?(?: you)?(?: for [\w' ]{1,40})?)\b[\s,!.:;–-]*)+",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z0-9][\w'./+#-]*[\w+#]|[A-Za-z0-9]")
_SEGMENT_BREAK = re.compile(r"[,;:()!?\"“”\[\]{}<>|]|\s[-–—]+\s|\.\s|\.$|\s&\s")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|no|approx|fig|cf|incl)\.)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\.{3,}\s*|\n")
VERSION = re.compile(r"v?\d+(?:[.x]\d+)*[a-z]?\d*", re.IGNORECASE)


def clean_subject(subject: str | None) -> str:
    """Subject without Re:/Fwd: prefixes, list tags like [ILUG], URLs, shouting, smileys and quotes."""
    if not subject:
        return ""
    text = _SUBJECT_PREFIX.sub("", subject)
    text = _URL.sub(" ", _SUBJECT_NOISE.sub(" ", text))
    text = re.sub(r"[\"“”`*_<>{}]|(?<!\w)'|'(?!\w)", " ", text)
    return re.sub(r"\s+", " ", text).strip(" .?-:,;/")


def clean_body(text: str, *, outgoing: bool = False, keep_quotes: bool = False) -> str:
    """Message text without quoted replies, attributions, signatures, footers, URLs, PII or leading @handles."""
    text = re.sub(r"(?i)<br\s*/?>|</?p\b[^>]*>|</?div\b[^>]*>", "\n", text.replace("\r\n", "\n"))
    text = html.unescape(re.sub(r"<[^<>]{1,300}>|\\u[0-9a-fA-F]{4}|\ufffd", " ", text))
    text = text.replace("’", "'").replace("‘", "'")
    text = re.sub(r"-----BEGIN PGP SIGNED MESSAGE-----\n(?:Hash:.*\n)?", "", text)
    kept: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped in ("--", "---") or _QUOTE_CUT.match(stripped):
            if any(re.search(r"[A-Za-z]{3}", line) for line in kept):
                break
            continue  # a bare forward: what follows is the content
        if keep_quotes and re.match(r"(?:\w{1,12})?>", stripped):
            stripped = line = re.sub(r"^(?:\w{1,12})?(?:>\s?)+", "", stripped)
        if re.match(r"[>|]|\w{1,12}>\s", stripped) or _ATTRIBUTION.search(stripped) or _HEADER_LINE.match(stripped):
            if kept and kept[-1].strip().lower().startswith("on ") and len(kept[-1]) < 90:
                kept.pop()  # "On Fri, 30 Aug 2002, Ben" / "wrote:" split over two lines
            continue
        if not re.fullmatch(r"\[\.\.\.\]|<\s*>|\[snip\]", stripped, re.IGNORECASE):
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    for index in range(max(len(kept) // 2, len(kept) - 12), len(kept)):
        if _SIGN_OFF.match(kept[index].strip()):  # "Thanks,\nPeter\nAcme Ltd, 1 Main St": drop from there
            kept = kept[:index]
            break
    text = redact(re.sub(rf"[ \t]*(?:{_URL.pattern})[ \t]*", " ", "\n".join(kept), flags=re.IGNORECASE))
    text = re.sub(r"__(email|phone)__", r"[\1]", text)
    text = re.sub(r"^\s*(?:@\w+[\s,:]*)+", "", text)  # tweets open with the handles they reply to
    text = re.sub(r"(?<!\w)@(\w)", r"\1", text)
    text = re.sub(r"[\U0001F000-\U0001FFFF\u2600-\u27BF\uFE0F]", " ", text)
    if outgoing:  # agents sign tweets "*MS", "^Sahil", "/EX", "-Emilia"
        text = re.sub(r"\s(?:[*^/]\s?[A-Z][A-Za-z]{0,12}|[-–]\s?[A-Z][a-z]{1,12})\s*$", "", text.rstrip())
        text = re.sub(r"^\s*\(\d/\d\)\s*", "", text)
    return text.strip()


def _is_prose(line: str) -> bool:
    """True for lines of ordinary language; False for code, logs, config, paths and tables."""
    tokens = line.split()
    if not tokens:
        return False
    wordy = sum(1 for tok in tokens if re.fullmatch(r"[A-Za-z][a-z']*[.,!?:;]*|[A-Z]{2,}[.,!?]*|I", tok))
    symbols = sum(line.count(char) for char in "{}[]<>=;$%\\|_*#~")
    if line.startswith(("    ", "\t")) and wordy / len(tokens) < 0.8 or re.search(r"\S(?: {3,}|\t)\S", line):
        return False  # indented code, or columns of a table or config file
    return wordy / len(tokens) >= 0.6 and symbols <= max(1, len(line) // 25)


def sentences(text: str) -> list[str]:
    """Prose sentences of cleaned text: code and log lines dropped, wrapped lines joined, greetings stripped."""
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if _is_prose(line):
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    result: list[str] = []
    for paragraph in paragraphs:
        pending = ""
        for piece in _SENTENCE_END.split(re.sub(r"\s+", " ", " ".join(paragraph)).strip()):
            if 150 < len(piece) < 3000:
                piece = re.sub(r"(.{12,80}?)(?:\s*\1){2,}", r"\1", piece)  # a log line pasted five times reads once
            pending = f"{pending} {piece}".strip() if pending else (piece or "").strip()
            if pending and not _ABBREVIATION.search(pending):
                result.append(pending)
                pending = ""
        if pending:
            result.append(pending)
    cleaned = (_GREETING.sub("", sentence).strip(" ,;:–-") for sentence in result)
    return [sentence for sentence in cleaned if len(tokenize(sentence)) >= 3 and not _foreign(sentence)]


def loose_sentences(raw: str) -> list[str]:
    """Last resort for text with no prose (lists, ads, a lone word): every line that holds a word."""
    text = redact(_URL.sub(" ", html.unescape(re.sub(r"<[^<>]{1,300}>", " ", raw))))
    return [line.strip() for line in text.split("\n") if re.search(r"[A-Za-z]{3}", line)][:20]


def _foreign(sentence: str) -> bool:
    """True for a sentence in another language (German, French, Spanish): its words would read as noise."""
    tokens = [t.lower() for t in tokenize(sentence)]
    return sum(t in _FOREIGN for t in tokens) >= max(2, len(tokens) // 4)


def tokenize(text: str) -> list[str]:
    """Word tokens (surface form), keeping versions, hyphens and dotted names together; possessive 's dropped."""
    return [re.sub(r"'s$", "", token) for token in _TOKEN.findall(text)]


def term(token: str) -> str:
    """Lower-cased, crudely singularised key used to count a token."""
    low = token.lower()
    if len(low) > 4 and low.endswith("ies"):
        return low[:-3] + "y"
    if len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is", "os")) and low.isalpha():
        return low[:-1]
    return low


def is_content(token: str) -> bool:
    """True for a token that can carry a topic (not a stopword, verb, vague word or bare number)."""
    low = token.lower()
    if low in STOPWORDS or low in VERBS or low in GENERIC or low in WEAK_ADJECTIVES:
        return False
    return len(low) > 1 and bool(re.search(r"[a-z]", low)) and not noisy(token)


def noisy(token: str) -> bool:
    """Paths, identifiers, placeholders and other tokens that make poor words in a name."""
    return bool(re.search(r"[/_=@\]\[]", token)) or len(token) > 28


def _phrase_word(tokens: list[str], index: int, sentence_start: bool = False) -> bool:
    token = tokens[index]
    low = token.lower()
    if low in STOPWORDS or low in VERBS or noisy(token) or not re.search(r"[a-z]", low):
        return False
    if low.endswith("ly") and low not in LY_NOUNS:
        return False
    previous = tokens[index - 1].lower() if index > 0 else ""
    following = tokens[index + 1] if index + 1 < len(tokens) else ""
    follows_word = bool(following) and following.lower() not in STOPWORDS and not noisy(following)
    if low.endswith("ed") and len(low) > 4:
        return previous in DETERMINERS and follows_word
    if low.endswith("ing") and len(low) > 5 and low not in _ING_NOUNS:
        # "email forwarding" is a noun; "restarting console" and "is loading" are verbs.
        return previous not in _AUX_BEFORE_ING and not follows_word and following.lower() not in DETERMINERS
    lower_case = token.islower() or sentence_start and token[1:].islower()
    if lower_case and follows_word and len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is")):
        return low in _PLURAL_MODIFIERS  # "cups allows printing": a plural inside a run is usually a verb
    return True


def segments(sentence: str) -> list[list[str]]:
    """Token lists of the sentence split at punctuation, so phrases never cross a comma or bracket."""
    return [tokens for part in _SEGMENT_BREAK.split(sentence) if (tokens := tokenize(part))]


def noun_phrases(sentence: str, max_words: int = 4) -> list[tuple[str, ...]]:
    """Maximal runs of content words (with trailing version numbers), heads kept when a run is too long."""
    phrases: list[tuple[str, ...]] = []
    for number, tokens in enumerate(segments(sentence)):
        run: list[str] = []
        for index, token in enumerate([*tokens, ""]):
            if token and token.lower() in WEAK_ADJECTIVES and not run:
                run.append(token)  # a leading qualifier is trimmed below, but lets "new hard disk" through
            elif token and token.lower() not in WEAK_ADJECTIVES and _phrase_word(tokens, index, number == index == 0):
                run.append(token)
            elif token and run and VERSION.fullmatch(token):
                run.append(token)  # "Suse 7.2", "PlayStation 4"
            else:
                if phrase := trim_phrase(run, max_words):
                    phrases.append(phrase)
                run = [token] if token and token.lower() in WEAK_ADJECTIVES else []
    return phrases


def trim_phrase(run: list[str], max_words: int) -> tuple[str, ...]:
    """A run of words without leading qualifiers or numbers and trailing vague nouns, at most max_words long."""
    words = list(run)
    while words and (VERSION.fullmatch(words[0]) or words[0].lower() in WEAK_ADJECTIVES | GENERIC):
        words.pop(0)
    while len(words) > 1 and words[-1].lower() in GENERIC:
        words.pop()
    words = words[-max_words:]
    return tuple(words) if any(is_content(word) for word in words) else ()


def gerund(verb: str) -> str:
    """The -ing form of a regular English verb ("log" -> "logging", "use" -> "using")."""
    low = verb.lower()
    if low.endswith("ing"):
        return low
    if low.endswith("ie"):
        return low[:-2] + "ying"
    if low.endswith("e") and not low.endswith(("ee", "ye", "oe")) and len(low) > 2:
        return low[:-1] + "ing"
    if re.fullmatch(r"[^aeiouy]*[aeiou][^aeiouwxy]", low):
        return low + low[-1] + "ing"
    return low + "ing"


def segments_before(prefix: str) -> list[str]:
    """The tokens of the last segment of prefix (the clause a following verb belongs to)."""
    parts = segments(prefix)
    return parts[-1] if parts else []


def subject_before(prefix: str) -> str:
    """The noun phrase right before a verb ("my network card now" -> "network card")."""
    tokens = segments_before(prefix)
    skip = word_set("has have had keeps kept just always now still really suddenly completely sometimes randomly "
                  "constantly also then is was literally already to stop even again")
    while tokens and tokens[-1].lower() in skip:
        tokens = tokens[:-1]
    run: list[str] = []
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        version_after_word = VERSION.fullmatch(token) and index > 0 and _phrase_word(tokens, index - 1)
        if version_after_word or token.lower() not in WEAK_ADJECTIVES and _phrase_word(tokens, index):
            run.insert(0, token)
        else:
            break
    return " ".join(trim_phrase(run, 4))
