"""Name patterns for the offline model: how an agent would title what a customer's sentence states."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.ai.offline_text import (
    DETERMINERS,
    GENERIC,
    LY_NOUNS,
    STOPWORDS,
    VERBS,
    WEAK_ADJECTIVES,
    gerund,
    is_content,
    noisy,
    noun_phrases,
    subject_before,
    tokenize,
    word_set,
)

_NEG = (r"(?:can ?not|can'?t|cant|could ?n'?t|couldnt|could not|unable to|not able to|not being able to"
        r"|fail(?:s|ed)? to|no longer able to)")
_BAD_VERBS = word_set("be seem think believe imagine wait say tell remember understand help stand afford agree recall "
                      "explain stop resist live thank complain guarantee promise comment figure see do tolerate bear")
_BOUNDARY = word_set("because when whenever since but so if as after before while until though although cause which "
                     "who where unless then it it's i i'm you he she we they there that not coz cuz anymore what wat "
                   "why how time today yesterday now tonight anyway please plz pls")
_TRAILING_KEEP = word_set("back online up down out in")
_PARTICLES = _TRAILING_KEEP | word_set("into on onto to from off")
_WORK_VERBS = ("work|boot|start|load|open|connect|respond|print|sync|play|run|compile|update|download|launch|install"
               "|charge|turn on|log in|sign in|show up")
_GERUND_PREPS = "getting|using|installing|connecting|setting up|finding|configuring|running|logging in"
_NEGATED = (r"(?:does ?n'?t|dosent|doesnt|do ?n'?t|dont|did ?n'?t|didnt|won'?t|wont|will not|is ?n'?t|isnt|are ?n'?t"
            r"|arent|ha(?:s|ve) ?n'?t been|hasnt been|can'?t|cant|can ?not|could ?n'?t|stopped|no longer|not|never)")
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(regex, re.IGNORECASE)) for kind, regex in (
    ("cannot", rf"\b{_NEG}\s+(?:i\s+|we\s+)?(?:seem to\s+|get (?:it\s+)?to\s+|even\s+|still\s+)?"
               r"(?P<verb>[a-z]+)\b(?P<rest>.*)"),
    ("not_working", rf"\b{_NEGATED}\s+(?:seem to\s+|seems to\s+|appear to\s+|even\s+|always\s+)?"
                    rf"(?:be\s+)?(?P<verb>{_WORK_VERBS})(?:s|ing|ed)?\b"),
    ("not_detected", rf"\b(?:{_NEGATED}|fails? to|failed to)\s+(?:seem to\s+|even\s+|still\s+)?"
                     r"(?:detect|recogni[sz]e|pick up|feature|identify|find|list|show|display)\s+(?P<rest>.*)"),
    ("passive", r"\b(?:is|are|was|were|gets?|got)\s+(?:still\s+|just\s+)?(?:not|never|no longer)\s+"
                r"(?:being\s+)?(?P<verb>detected|recogni[sz]ed|found|listed|shown|displayed|saved|sent|received"
                r"|delivered|charged|updated|installed|loaded|synced|applied|accepted)\b"),
    ("state", r"\b(?:(?:is|are|was|were|seems?|looks?|got|went|goes|keeps? going|still)\s+(?:completely\s+"
              r"|totally\s+|still\s+)?(?P<copula>down|offline|slow|unresponsive|blank|dead)|(?P<verb>broken|broke|stuck"
              r"|frozen|missing|corrupted|corrupt))\b"),
    ("crash", r"\b(?P<verb>crash(?:es|ed|ing)?|freez(?:es|ing)|froze|hangs|hanging|hung|segfault(?:s|ed)?"
              r"|locks up|locked up|dumps core|reboots|fails|failed|failing)\b(?P<rest>.*)"),
    ("error", r"\b(?:error(?: message)?s?\s*[:=]|(?:it|this|and|but) (?:just )?says\s*:?|(?:error|message)"
              r" (?:saying|that says)\s*:?)\s*(?P<msg>.+)"),
    ("help", r"\b(?:need|needs|want|seeking|seeks|looking for|appreciate|would like|ask(?:ing)? for)\s+(?:some\s+"
             r"|your\s+|a little\s+|urgent\s+|a bit of\s+|any\s+)?(?:help|assistance|advice|support|pointers?"
             rf"|guidance)\s+(?P<prep>with|on|for|about|regarding|{_GERUND_PREPS}|to)\s+(?P<rest>.+)"),
    ("trouble", r"\b(?P<noun>trouble|troubles|problems?|issues?|difficult(?:y|ies)|bug)\s+"
                rf"(?P<prep>with|in|on|{_GERUND_PREPS})\s+(?P<rest>.+)"),
    ("howto", r"\b(?:how (?:do|can|could|would|should|might|does) (?:i|we|you|one)|how (?:i|we) (?:can|could|should"
              r"|would|might)|how to|is (?:there|it) (?:a|any|an easy) (?:way|means) to|is it possible to|any way to"
              r"|anyway to|possible to|best way to)\s+(?P<verb>[a-z]+)\b(?P<rest>.*)"),
    ("request", r"\b(?:i'?d like|i would like|i want|i wanted|i need|we need|we want|would like|want) to\s+"
                r"(?P<verb>cancel|change|update|close|delete|remove|reset|recover|restore|transfer|return|upgrade"
                r"|downgrade|unsubscribe|renew|activate|deactivate|merge|replace|exchange|refund)\b(?P<rest>.*)"),
    ("trying", r"\b(?:try|tried|trying|attempt(?:ed|ing)?)\s+to\s+(?P<verb>[a-z]+)\b(?P<rest>.*)"),
)]
_PRIORS = {"trying": 2.5, "howto": 2.7, "request": 3.1, "error": 2.6}
_CRASH_FORMS = (("crash", "crashes"), ("free", "freezes"), ("froze", "freezes"), ("hang", "hangs"),
                ("hung", "hangs"), ("segfault", "segfaults"), ("lock", "locks up"), ("dump", "dumps core"),
                ("reboot", "reboots"), ("fail", "fails"))
_KEYWORDS = [(re.compile(regex, re.IGNORECASE), label) for regex, label in (
    (r"\brefund(?:s|ed|ing)?\b(?:\s+(?:for|on|of)\s+(?P<rest>.*))?", "Refund request"),
    (r"\b(?:charged|billed)\s+(?:me\s+)?(?:twice|two times|double)\b(?:\s+for\s+(?P<rest>.*))?"
     r"|\bdouble[- ](?:charge|bill)", "Double charge"),
    (r"\b(?:forgot(?:ten)?|reset|lost)\s+(?:my\s+)?password", "Password reset"),
    (r"\blocked out of\s+(?P<rest>.*)", "Locked out of"),
    (r"\baccount\b.*\b(?:hacked|compromised)\b|\b(?:hacked|compromised)\b.*\baccount\b", "Account compromised"),
)]
PLATFORM_RE = re.compile(
    r"\b(?:(?:red ?hat|suse|debian|mandrake|gentoo|slackware|fedora|ubuntu|solaris|freebsd|openbsd|tru64|windows"
    r"|win(?:95|98|2k|xp)|mac ?os(?: x)?|os x|ios|android|iphone|ipad|playstation|ps[345]|xbox(?: one)?|catalina"
    r"|mojave)(?:[ -]?v?\d+(?:\.\d+)*[a-z]?)?|(?:rh|kernel|limbo)[ -]?v?\d+(?:\.\d+)*[a-z]?)(?![\w.-])",
    re.IGNORECASE,
)
_PRONOUN = r"\b(i|you|we|they|he|she|it|that|there|who)"
_CONTRACTIONS = ((r"'s been\b", " has been"), (r"\b(it|that|there|here|what|who|he|she)'s\b", r"\1 is"),
                 (r"can't\b", "cannot"),
                 (r"won't\b", "will not"), (r"n't\b", " not"), (_PRONOUN + r"'m\b", r"\1 am"),
                 (_PRONOUN + r"'re\b", r"\1 are"), (_PRONOUN + r"'ve\b", r"\1 have"),
                 (_PRONOUN + r"'ll\b", r"\1 will"), (_PRONOUN + r"'d\b", r"\1 would"), (r"'s\b", ""), (r"'", ""))


def name_key(text: str) -> str:
    """Comparison key for names: lower-case words only, so case and punctuation do not make a name new."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def finish_name(text: str, limit: int) -> str:
    """One clean line: no quotes or markup, no dangling words, first letter capital, at most limit chars."""
    text = re.sub(r"<[^>]*>|[\"“”`*_{}\[\]<>|#~]|(?<!\w)'|'(?!\w)", " ", text)
    for short, full in _CONTRACTIONS:  # no apostrophes: the service strips quote marks ("can't" -> "cant")
        text = re.sub(short, full, text, flags=re.IGNORECASE)
    words = re.sub(r"\s+", " ", text).strip(" .,;:!?-–/•").split()
    while words and re.match(r"\d+[.)]|name\s*\d*:", words[0], re.IGNORECASE):
        words.pop(0)  # the service reads "1.2.6 ..." or "1) ..." at the start of a line as list numbering
    while len(" ".join(words)) > limit:
        words.pop()
    dangling = STOPWORDS if text.startswith("Error:") else STOPWORDS | VERBS
    while words and (words[-1].lower() in dangling and words[-1].lower() not in _TRAILING_KEEP
                     or words[-1] in "-–:/&"):
        words.pop()
    text = " ".join(words).strip(" .,;:-–/")
    if not any(is_content(tok) for tok in tokenize(text)):
        return ""
    text = re.sub(r"\b[A-Z]{5,}\b", lambda m: m.group().capitalize(), text)  # "EIGHT TIMES" is shouting
    first = text.split()[0]
    return text[0].upper() + text[1:] if first.islower() else text


def object_phrase(rest: str, max_words: int = 7) -> str:
    """The object of a verb: words up to a clause boundary, without determiners, adverbs or leading fillers."""
    tokens = tokenize(re.split(r"[,;:.!?()\"]|\s[-–]\s", rest, maxsplit=1)[0])
    words: list[str] = []
    for index, token in enumerate(tokens):
        low = token.lower()
        following = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
        if low in _BOUNDARY or low in ("and", "or") and (following in STOPWORDS or following in VERBS):
            break
        leading_filler = not words and (low in STOPWORDS or low in VERBS) and low not in _PARTICLES
        adverb = low.endswith("ly") and low not in LY_NOUNS
        if adverb and following.endswith("ed"):
            tokens[index + 1] = "the"  # "recently posted package" -> "package"
        if low in DETERMINERS or leading_filler or adverb or noisy(token):
            continue
        words.append(token)
        if len(words) == max_words:
            break
    weak = STOPWORDS | VERBS | WEAK_ADJECTIVES | GENERIC
    while words and words[-1].lower() in weak and words[-1].lower() not in _TRAILING_KEEP:
        words.pop()
    return " ".join(words) if any(is_content(w) for w in words) else ""


def _leading_noun_phrase(rest: str) -> str:
    phrases = noun_phrases(" ".join(t for t in tokenize(rest)[:6] if t.lower() not in DETERMINERS))
    return " ".join(phrases[0]) if phrases else ""


def pattern_names(sentence: str) -> Iterator[tuple[str, str, float]]:
    """Agent-style names for the problem, question or request a sentence states: (name, topic, prior)."""
    for kind, pattern in _PATTERNS:
        match = pattern.search(sentence)
        built = _build(kind, match, sentence[: match.start()]) if match else None
        if built:
            yield built[0], built[1], _PRIORS.get(kind, 3.0)
    for regex, label in _KEYWORDS:
        if match := regex.search(sentence):
            target = object_phrase(match.groupdict().get("rest") or "", 5)
            if label == "Locked out of":
                yield (f"{label} {target}", target, 3.0) if target else ("Account locked out", "account", 2.8)
                continue
            yield label, label, 2.8
            if target:
                yield f"{label} for {target}", target, 3.0


def _build(kind: str, match: re.Match[str], before: str) -> tuple[str, str] | None:
    groups = match.groupdict()
    verb = (groups.get("verb") or "").lower()
    if kind in ("not_working", "crash", "passive", "state"):
        subject = subject_before(before)
        if not subject:
            return None
        if kind == "passive":
            return f"{subject} not {verb}", subject
        if kind == "state":
            state = (groups.get("copula") or verb).lower()
            return f"{subject} {'broken' if state == 'broke' else state}", subject
        if kind == "not_working":
            head, _, particle = verb.partition(" ")
            return f"{subject} not {gerund(head)} {particle}".strip(), subject
        form = next(full for stem, full in _CRASH_FORMS if verb.startswith(stem))
        tail = re.match(r"\s*(on|when|during|with|while|after|at)\s+(.*)", groups["rest"], re.IGNORECASE)
        extra = object_phrase(tail.group(2), 4) if tail else ""
        return (f"{subject} {form} {tail.group(1).lower()} {extra}" if tail and extra else f"{subject} {form}"), subject
    if kind == "not_detected":
        previous = [t.lower() for t in tokenize(before) if t.lower() not in ("still", "just", "now", "also")]
        obj = _leading_noun_phrase(groups["rest"])
        if not obj or previous and previous[-1] in ("i", "we", "you"):  # "I can't find X" is not "X not detected"
            return None
        return f"{obj} not detected", obj
    if kind == "error":
        msg = re.split(r"[.!?;]|,\s*(?:so|and|but|i|which)\b|\berror\b|\s[-–]\s", groups["msg"].strip(" :"),
                       maxsplit=1, flags=re.IGNORECASE)[0]
        words: list[str] = []
        for word in (w for w in msg.split() if not noisy(w)):
            if len(" ".join([*words, word])) > 60:
                break
            words.append(word)
        text = " ".join(words)
        return (f"Error: {text}", text) if len(words) >= 2 and words[0].lower() not in _BOUNDARY else None
    if kind in ("help", "trouble"):
        prep, rest = groups["prep"].lower(), groups["rest"]
        if prep == "to":
            head, _, rest = rest.partition(" ")
            prep = gerund(head)
        obj = object_phrase(rest)
        if not obj:
            return None
        if prep in ("with", "on", "for", "about", "regarding", "in"):
            noun = (groups.get("noun") or "").lower()
            label = "Bug in" if noun == "bug" else "Help with" if kind == "help" else "Problem with"
            return f"{label} {obj}", obj
        return f"{'Help' if kind == 'help' else 'Trouble'} {prep} {obj}", obj
    rest = groups.get("rest") or ""
    if verb in ("get", "make") and (hop := re.match(r"\s+(?:\w+\s+){1,2}?to\s+([a-z]+)\b(.*)", rest, re.IGNORECASE)):
        verb, rest = hop.group(1).lower(), hop.group(2)  # "get this thing to boot my kernel" -> "boot kernel"
    obj = object_phrase(rest)
    if kind == "request" and not obj and verb in ("cancel", "unsubscribe", "refund"):
        return {"cancel": "Cancellation request", "unsubscribe": "Unsubscribe request"}.get(verb, "Refund request"), ""
    if verb in _BAD_VERBS or not obj:
        return None
    label = {"cannot": "Cannot {}", "howto": "How to {}", "request": "Request to {}"}.get(kind, "Trouble {}")
    return label.format(verb if kind != "trying" else gerund(verb)) + f" {obj}", obj


def problem_kind(first_message: list[str]) -> str:
    """Whether the customer's opening reads as a problem, a question or a request."""
    text = " ".join(first_message).lower()
    if re.search(r"\b(?:error|fail|crash|broken|not work|doesn'?t|won'?t|can'?t|cannot|unable|problem|issue|trouble"
                 r"|bug|wrong|stuck)", text):
        return "problem"
    return "question" if "?" in text else "issue"
