"""Rule-based replies of the offline flower-shop assistant (flowershop-offline).

The app needs a chat model that works with no API key and no network, and whose
answers are reproducible, so a prompt is turned into a reply by plain rules over
catalog.toml: same prompt, same reply. Facts (occasion, recipient, colour, flower,
day, budget) are read only from what the customer said in the prompt's history or
summary, never from the shop's own replies, so a memory that dropped the first
turns visibly forgets them.
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Container
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources

SUMMARY_OPENING = "Progressively summarize the lines of conversation provided"
# SummarizationMiddleware (LangChain 1.x): its prompt ends with the messages as XML; its summary message opens so
MIDDLEWARE_MESSAGES = "<messages>\nMessages to summarize:\n"
MIDDLEWARE_SUMMARY = "Here is a summary of the conversation to date:"
_XML_MESSAGE = re.compile(r'<message type="(\w+)">(.*?)</message>', re.DOTALL)
_XML_ROLES = {"human": "Human", "ai": "AI", "system": "System"}
MAX_SUMMARY_CHARS = 600
SHOP_PREFIXES = ("店员", "The shop")  # summary lines about the shop's replies, not facts
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ROLE = re.compile(r"(Human|AI|System):(?: |$)")
_BUDGET = re.compile(
    r"预算\D{0,6}?(\d+)|(\d+)\s*(?:元|块)|budget\D{0,12}?(\d+)|(\d+)\s*(?:yuan|cny|rmb|kuai)\b|[¥￥$]\s*(\d+)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?:\s|$)")

PHRASES = {
    "zh": {
        "forgot": "抱歉，我不记得之前的对话内容了。能再告诉我一次送花的场合、送给谁和喜欢的颜色吗？",
        "greeting": "您好，欢迎光临！请问买花是为了什么场合、送给谁？喜欢什么颜色？",
        "closing": "不客气！祝一切顺利，欢迎随时再来。",
        "delivery": "可以配送：市区 18:00 前下单当天送达，之后次日送达，配送费 15 元，手写贺卡免费。"
        "告诉我花束、地址和送达时间就能下单。",
        "fallback": "我是花店的离线助手，可以帮您挑花。请告诉我送花的场合（比如生日、纪念日）、送给谁，以及喜欢的颜色。",
        "for_occasion": "为{}，推荐：",
        "for_recipient": "送给{}，推荐：",
        "for_you": "为您推荐：",
        "line": "{name}（{meaning}，{season}）{price}元/枝，{stems}枝约{total}元",
        "prices": "价格参考：{}。包装免费。",
        "price": "{name} {price}元/枝（{stems}枝约{total}元）",
        "list": "；",
        "came_for": "您是为{}来买花的",
        "buying_for": "您是给{}买花的",
        "on_days": "{}，时间是{}",
        "days": "时间是{}",
        "likes": "{}喜欢{}",
        "mentioned": "您提到了{}",
        "budget": "预算 {} 元",
        "also": "也提到了{}",
        "remember": "记得！{}。需要我照这个为您搭配花束吗？",
        "partly": "我只记得一部分：{}。更早的细节（比如{}）我不记得了，能再说一次吗？",
        "gap_occasion": "什么场合",
        "gap_recipient": "送给谁",
        "customer_said": "顾客说：{}",
        "shop_named": "店员{}{}。",
        "suggested": "推荐了",
        "named": "提到了",
        "shop_replied": "店员回复：{}",
    },
    "en": {
        "forgot": "Sorry, I don't remember what we talked about earlier. Could you tell me the occasion, "
        "who the flowers are for and the colours they like?",
        "greeting": "Hello, welcome to the flower shop! What's the occasion, who are the flowers for, "
        "and which colours do they like?",
        "closing": "You're welcome! Come back any time.",
        "delivery": "Yes, we deliver: order before 18:00 for same-day delivery in the city, later orders "
        "arrive the next day. Delivery is 15 CNY and a handwritten card is free. Tell me the bouquet, "
        "address and time to place the order.",
        "fallback": "I'm the flower shop's offline assistant. Tell me the occasion (a birthday, an "
        "anniversary…), who the flowers are for and the colours they like, and I'll suggest a bouquet.",
        "for_occasion": "For {} I'd suggest:",
        "for_recipient": "For {} I'd suggest:",
        "for_you": "I'd suggest:",
        "line": "{name}: {meaning}; season: {season}; {price} CNY/stem, {stems} stems ≈ {total} CNY",
        "prices": "Prices: {}. Wrapping is free.",
        "price": "{name} {price} CNY/stem ({stems} stems ≈ {total} CNY)",
        "list": "; ",
        "came_for": "you came to buy flowers for {}",
        "buying_for": "you were buying flowers for {}",
        "on_days": "{} ({})",
        "days": "you mentioned {}",
        "likes": "{} likes {}",
        "mentioned": "you mentioned {}",
        "budget": "your budget is {} CNY",
        "also": "you also mentioned {}",
        "remember": "Yes, I remember! {}. Shall I put a bouquet together on that basis?",
        "partly": "I only remember part of it: {}. I don't remember {}, could you tell me again?",
        "gap_occasion": "the occasion",
        "gap_recipient": "who the flowers are for",
        "customer_said": "The customer said: {}",
        "shop_named": "The shop {} {}.",
        "suggested": "suggested",
        "named": "mentioned",
        "shop_replied": "The shop replied: {}",
    },
}


@dataclass(frozen=True)
class Mention:
    """One keyword found in a text: the entry it names, the words used, where."""

    id: str
    said: str
    start: int
    end: int


class Vocabulary:
    """Keywords of one kind, matched leftmost-longest, each naming an entry id."""

    def __init__(self, keywords: dict[str, str]) -> None:
        self._ids = {word.lower(): entry for word, entry in keywords.items()}
        self._pattern = re.compile(_keywords_pattern(sorted(self._ids, key=len, reverse=True)), re.IGNORECASE)

    def find(self, text: str) -> list[Mention]:
        return [
            Mention(self._ids[m.group().lower()], m.group(), m.start(), m.end())
            for m in self._pattern.finditer(text)
        ]

    def ids(self, text: str) -> tuple[str, ...]:
        """Entry ids in order of first mention, without repeats."""
        return tuple(dict.fromkeys(mention.id for mention in self.find(text)))


def _keywords_pattern(words: list[str]) -> str:
    """CJK keywords match anywhere; Latin ones only as whole words, longest first.

    The word-boundary checks wrap the group of Latin words once, not each word:
    the same matches, six times faster on long prompts (a 100 KB prompt took 0.4 s
    per vocabulary, holding the GIL the offline server's other requests need).
    """
    cjk = [re.escape(word) for word in words if _CJK.search(word)]
    latin = [re.escape(word) for word in words if not _CJK.search(word)]
    groups = ([f"(?:{'|'.join(cjk)})"] if cjk else []) + \
        ([rf"(?<![a-z0-9])(?:{'|'.join(latin)})(?![a-z0-9])"] if latin else [])
    return "|".join(groups) or "(?!)"


@dataclass(frozen=True)
class Flower:
    id: str
    names: dict[str, str]  # by language: 玫瑰 / roses
    meanings: dict[str, str]
    seasons: dict[str, str]
    colours: tuple[str, ...]
    occasions: tuple[str, ...]
    price_cny: float
    bouquet_stems: int

    @classmethod
    def from_toml(cls, entry: dict) -> Flower:
        return cls(
            id=entry["id"],
            names={"zh": entry["name_zh"], "en": entry["plural_en"]},
            meanings={"zh": entry["meaning_zh"], "en": entry["meaning_en"]},
            seasons={"zh": entry["season_zh"], "en": entry["season"]},
            colours=tuple(entry["colours"]),
            occasions=tuple(entry["occasions"]),
            price_cny=entry["price_cny"],
            bouquet_stems=entry["bouquet_stems"],
        )


@dataclass(frozen=True)
class Catalog:
    flowers: dict[str, Flower]
    occasions: dict[str, dict]
    recipients: dict[str, dict]
    colours: dict[str, dict]
    dates: dict[str, dict]
    words: dict[str, Vocabulary]


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The parsed catalog.toml shipped in this package (read once)."""
    raw = tomllib.loads(resources.files(__package__).joinpath("catalog.toml").read_text("utf-8"))
    flower_words = {
        word: f["id"] for f in raw["flowers"] for word in (f["name_zh"], f["name_en"], f["plural_en"], *f["aliases"])
    }
    colour_words = {word: cid for cid, c in raw["colours"].items() for word in c["keywords"]}
    colour_words |= {  # 红玫瑰, 白百合: a one-character colour right before a flower name
        c["short"] + name: cid for cid, c in raw["colours"].items() for name in flower_words if _CJK.search(name)
    }
    words = {
        "flower": Vocabulary(flower_words),
        "colour": Vocabulary(colour_words),
        "occasion": _table_vocabulary(raw["occasions"]),
        "recipient": _table_vocabulary(raw["recipients"]),
        "date": _table_vocabulary(raw["dates"]),
        **{cue: Vocabulary(dict.fromkeys(keywords, cue)) for cue, keywords in raw["cues"].items()},
    }
    flowers = {entry["id"]: Flower.from_toml(entry) for entry in raw["flowers"]}
    return Catalog(flowers, raw["occasions"], raw["recipients"], raw["colours"], raw["dates"], words)


def _table_vocabulary(table: dict[str, dict]) -> Vocabulary:
    return Vocabulary({word: entry_id for entry_id, entry in table.items() for word in entry["keywords"]})


@dataclass(frozen=True)
class Facts:
    """What a customer said they want; each kind in order of first mention."""

    occasions: tuple[str, ...] = ()
    recipients: tuple[tuple[str, str], ...] = ()  # (recipient id, the word the customer used)
    colours: tuple[str, ...] = ()
    flowers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    budget: int | None = None

    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def over(self, older: Facts) -> Facts:
        """These facts, each missing kind taken from the older ones."""
        return Facts(**{f.name: getattr(self, f.name) or getattr(older, f.name) for f in fields(self)})

    def keys(self) -> set[tuple[str, object]]:
        """Every single fact, comparable across texts."""
        found = {("recipient", rid) for rid, _ in self.recipients}
        for kind in ("occasions", "colours", "flowers", "dates"):
            found |= {(kind, value) for value in getattr(self, kind)}
        return found | ({("budget", self.budget)} if self.budget else set())


def extract_facts(text: str) -> Facts:
    words = catalog().words
    recipients: dict[str, str] = {}
    for mention in words["recipient"].find(text):
        recipients.setdefault(mention.id, mention.said)
    budget = _BUDGET.search(text)
    return Facts(
        occasions=words["occasion"].ids(text),
        recipients=tuple(recipients.items()),
        colours=words["colour"].ids(text),
        flowers=words["flower"].ids(text),
        dates=words["date"].ids(text),
        budget=int(next(g for g in budget.groups() if g)) if budget else None,
    )


@dataclass(frozen=True)
class Exchange:
    """A conversation prompt split into what came before and the current message."""

    context: str
    message: str


def parse_prompt(prompt: str) -> Exchange:
    """Split a ConversationChain prompt; anything else is all message, no context."""
    text = prompt.rstrip()
    body = "\n" + text[: -len("AI:")].rstrip("\n")
    marker = body.rfind("\nHuman: ") if text.endswith("\nAI:") else -1
    if marker < 0:
        return Exchange("", prompt.strip())
    preamble, found, history = body[:marker].partition("Current conversation:\n")
    return Exchange((history if found else preamble).strip(), body[marker + len("\nHuman: "):].strip())


def segments(history: str) -> list[tuple[str, str]]:
    """(role, text) per speaker in a history; lines before any speaker are a "Summary"."""
    found: list[list[str]] = []
    for line in history.splitlines():
        role = _ROLE.match(line)
        if role:
            found.append([role.group(1), line[role.end():]])
        elif found:
            found[-1][1] += "\n" + line
        else:
            found.append(["Summary", line])
    return [(role, text.strip()) for role, text in found]


def customer_text(history: str) -> str:
    """Everything the customer said, with the shop's replies (and their summary lines) left out."""
    return "\n".join(
        line
        for role, text in segments(history)
        if role != "AI"
        for line in text.splitlines()
        if not line.lstrip().startswith(SHOP_PREFIXES)
    )


def shop_text(history: str) -> str:
    """The shop's last reply in a history."""
    return next((text for role, text in reversed(segments(history)) if role == "AI"), "")


def language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def reply_for(prompt: str) -> str:
    """The assistant's deterministic reply to a prompt (conversation, summariser or plain)."""
    if is_summary_prompt(prompt):
        return summarize(prompt)
    exchange = parse_prompt(prompt)
    lang = language(exchange.message)
    phrases = PHRASES[lang]
    words = catalog().words
    asked = exchange.message
    said = extract_facts(asked)
    customer = customer_text(exchange.context)
    remembered = extract_facts(customer)
    if words["recall"].find(asked):
        return recall_reply(remembered, liked_facts(customer), lang)
    if words["closing"].find(asked) and not said.any():
        return phrases["closing"]
    if words["delivery"].find(asked):
        return phrases["delivery"]
    facts = said.over(remembered)
    shown = words["flower"].ids(shop_text(exchange.context))
    if words["price"].find(asked):
        return price_reply(said.flowers or shown or tuple(f.id for f in rank(facts)[:3]), facts, lang)
    if words["greeting"].find(asked) and not said.any():
        return phrases["greeting"]
    if facts.any():
        return recommend(facts, lang, exclude=shown if words["other"].find(asked) else ())
    return phrases["fallback"]


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """The text up to the first stop sequence, as a hosted model would end it."""
    cuts = [text.find(word) for word in stop or () if word and word in text]
    return text[: min(cuts)] if cuts else text


def rank(facts: Facts, exclude: Container[str] = ()) -> list[Flower]:
    """Flowers best first: occasion match, then a flower the customer named, then colour.

    Mourning flowers are kept back unless the occasion calls for them or they were named.
    """
    everything = list(catalog().flowers.values())
    flowers = [f for f in everything if f.id not in exclude] or everything

    def key(item: tuple[int, Flower]) -> tuple:
        index, flower = item
        occasion = sum(o in flower.occasions for o in facts.occasions)
        named = flower.id in facts.flowers
        colour = any(c in flower.colours for c in facts.colours)
        mourning = "sympathy" in flower.occasions and not (occasion or named)
        return (mourning, -occasion, not named, not colour, index)

    return [flower for _, flower in sorted(enumerate(flowers), key=key)]


def recommend(facts: Facts, lang: str, exclude: Container[str] = ()) -> str:
    """A heading and three bouquet suggestions with meaning, season and price."""
    phrases = PHRASES[lang]
    if facts.occasions:
        head = phrases["for_occasion"].format(occasion_phrase(facts, lang))
    elif facts.recipients:
        head = phrases["for_recipient"].format(who(facts, lang))
    else:
        head = phrases["for_you"]
    lines = [f"{n}. {_capital(_flower_line(f, facts, lang))}" for n, f in enumerate(rank(facts, exclude)[:3], 1)]
    return "\n".join([head, *lines])


def _flower_line(flower: Flower, facts: Facts, lang: str) -> str:
    return PHRASES[lang]["line"].format(
        meaning=flower.meanings[lang], season=flower.seasons[lang], **_priced(flower, facts, lang)
    )


def price_reply(flower_ids: tuple[str, ...], facts: Facts, lang: str) -> str:
    phrases = PHRASES[lang]
    items = [phrases["price"].format(**_priced(catalog().flowers[fid], facts, lang)) for fid in flower_ids[:4]]
    return phrases["prices"].format(phrases["list"].join(items))


def _priced(flower: Flower, facts: Facts, lang: str) -> dict[str, str | int]:
    stems = bouquet_stems(flower, facts.budget)
    return {
        "name": display(flower, facts, lang),
        "price": _money(flower.price_cny),
        "stems": stems,
        "total": _money(stems * flower.price_cny),
    }


def bouquet_stems(flower: Flower, budget: int | None) -> int:
    """The flower's usual bouquet size, or the largest smaller one the budget allows."""
    sizes = [n for n in (flower.bouquet_stems, 11, 9, 6, 5, 3, 1) if n <= flower.bouquet_stems]
    if budget is None:
        return sizes[0]
    return next((n for n in sizes if n * flower.price_cny <= budget), 1)


def display(flower: Flower, facts: Facts, lang: str) -> str:
    """The flower's name, led by the first wanted colour it comes in (粉色玫瑰, pink roses)."""
    colour = next((c for c in facts.colours if c in flower.colours), None)
    if colour is None:
        return flower.names[lang]
    return catalog().colours[colour][lang] + ("" if lang == "zh" else " ") + flower.names[lang]


def who(facts: Facts, lang: str) -> str:
    """The first recipient: the customer's own Chinese word, else the catalog label."""
    rid, said = facts.recipients[0]
    label = catalog().recipients[rid][lang]
    if lang == "zh":
        return said if _CJK.search(said) else label
    return "your " + label


def occasion_phrase(facts: Facts, lang: str) -> str:
    """The first occasion, told with its recipient when known (姐姐的生日, your sister's birthday)."""
    occasion = catalog().occasions[facts.occasions[0]]
    if facts.recipients:
        return occasion[f"phrase_{lang}"].format(who=who(facts, lang))
    return occasion[lang]


def liked_facts(customer: str) -> Facts:
    """Colours and flowers from the lines where the customer says what someone likes."""
    cue = catalog().words["likes"]
    return extract_facts("\n".join(line for line in customer.splitlines() if cue.find(line)))


def recall_reply(facts: Facts, liked: Facts, lang: str) -> str:
    """What the customer told us earlier, from the context only; honest when nothing is left."""
    phrases = PHRASES[lang]
    if not facts.any():
        return phrases["forgot"]
    told = _capital(phrases["list"].join(_recalled(facts, liked, lang)))
    gaps = [phrases[gap] for gap, known in (("gap_occasion", facts.occasions), ("gap_recipient", facts.recipients))
            if not known]
    if not gaps:
        return phrases["remember"].format(told)
    return phrases["partly"].format(told, _join(gaps, lang))


def _recalled(facts: Facts, liked: Facts, lang: str) -> list[str]:
    """One clause per kind of fact: why and when, what they like, budget, anything else.

    What someone likes comes from the lines that say so, when there are any, so
    flowers bought later for others are not put in the sister's mouth.
    """
    c = catalog()
    phrases = PHRASES[lang]
    parts = []
    reason = ""
    if facts.occasions:
        reason = phrases["came_for"].format(occasion_phrase(facts, lang))
    elif facts.recipients:
        reason = phrases["buying_for"].format(who(facts, lang))
    if facts.dates:
        days = _join([c.dates[d][lang] for d in facts.dates], lang)
        reason = phrases["on_days"].format(reason, days) if reason else phrases["days"].format(days)
    if reason:
        parts.append(reason)
    if likes := _likes(liked if liked.colours or liked.flowers else facts, lang):
        pronoun = c.recipients[facts.recipients[0][0]][f"pronoun_{lang}"] if facts.recipients else ""
        parts.append(phrases["likes"].format(pronoun, likes) if pronoun else phrases["mentioned"].format(likes))
    if facts.budget:
        parts.append(phrases["budget"].format(facts.budget))
    also = [c.occasions[o][lang] for o in facts.occasions[1:]]
    also += [who(Facts(recipients=(r,)), lang) for r in facts.recipients[1:]]
    if also:
        parts.append(phrases["also"].format(_join(also, lang)))
    return parts


def _likes(facts: Facts, lang: str) -> str:
    """Wanted colours and flowers as one phrase: 粉色玫瑰, pink and white roses."""
    c = catalog()
    colours = [c.colours[cid][lang] for cid in facts.colours]
    names = [c.flowers[fid].names[lang] for fid in facts.flowers]
    if lang == "zh":
        return "、".join(colours) + ("的" if len(colours) > 1 and names else "") + "和".join(names)
    return " ".join(part for part in (" and ".join(colours), " and ".join(names)) if part)


def is_summary_prompt(prompt: str) -> bool:
    """True for the ConversationSummary(Buffer)Memory summariser prompt, or SummarizationMiddleware's."""
    text = prompt.lstrip()
    return (text.startswith(SUMMARY_OPENING) and "New summary:" in text) or (
        MIDDLEWARE_MESSAGES in text and text.rstrip().endswith("</messages>"))


def summary_parts(prompt: str) -> tuple[str, str]:
    """(current summary, new lines) of a summariser prompt, past its EXAMPLE section.

    The middleware's prompt carries its earlier summary as a message of its own: that is the current summary.
    """
    if MIDDLEWARE_MESSAGES in prompt:
        return _middleware_parts(prompt[prompt.rfind(MIDDLEWARE_MESSAGES):])
    start = prompt.rfind("Current summary:\n")
    middle = prompt.find("\n\nNew lines of conversation:\n", start)
    end = prompt.rfind("\n\nNew summary:")
    if start < 0 or middle < 0 or end < middle:
        return "", ""
    current = prompt[start + len("Current summary:\n"):middle]
    new_lines = prompt[middle + len("\n\nNew lines of conversation:\n"):end]
    return current.strip(), new_lines.strip()


def _middleware_parts(messages: str) -> tuple[str, str]:
    current, lines = [], []
    for role, text in _XML_MESSAGE.findall(messages):
        text = html.unescape(text).strip()
        if text.startswith(MIDDLEWARE_SUMMARY):
            current.append(text.removeprefix(MIDDLEWARE_SUMMARY).strip())
        else:
            lines.append(f"{_XML_ROLES.get(role, role)}: {text}")
    return "\n".join(current), "\n".join(lines)


def conversation(messages: list[tuple[str, str]]) -> str:
    """A chat's messages, (role, text), as the ConversationChain prompt the rules read: earlier messages
    (a middleware's summary first, as a summary memory's) as the history, the last as the message."""
    *history, (_, message) = messages
    summary = [text.removeprefix(MIDDLEWARE_SUMMARY).strip() for role, text in history
               if role == "human" and text.startswith(MIDDLEWARE_SUMMARY)]
    said = [f"{_XML_ROLES.get(role, role)}: {text}" for role, text in history
            if role in ("human", "ai") and not text.startswith(MIDDLEWARE_SUMMARY)]
    return "Current conversation:\n" + "\n".join([*summary, *said]) + f"\nHuman: {message}\nAI:"


def summarize(prompt: str) -> str:
    """An extractive summary: the current one plus one short line per new line, bounded."""
    current, new_lines = summary_parts(prompt)
    lang = language(new_lines)
    items = [line.strip() for line in current.splitlines() if line.strip()]
    items += [summary_item(role, text, lang) for role, text in segments(new_lines) if text]
    return "\n".join(bounded(items))


def summary_item(role: str, text: str, lang: str) -> str:
    """One summary line: what the customer said, or which flowers the shop named."""
    phrases = PHRASES[lang]
    flat = " ".join(text.split())
    if role == "Human":
        return phrases["customer_said"].format(_clip(flat, 100))
    if role != "AI":
        return flat
    if named := _named_flowers(text, lang):
        verb = phrases["suggested"] if ("推荐" in text or "suggest" in text) else phrases["named"]
        return phrases["shop_named"].format(verb, _join(named, lang))
    first = _SENTENCE_END.split(flat, maxsplit=1)[0]
    return phrases["shop_replied"].format(_clip(first, 40 if lang == "zh" else 80))


def _named_flowers(text: str, lang: str) -> list[str]:
    """Flowers named in a text, each with the colour written right before it, if any."""
    c = catalog()
    colours = c.words["colour"].find(text)
    named: dict[str, str] = {}
    for mention in c.words["flower"].find(text):
        colour = next((m.id for m in colours if m.start < mention.start <= m.end + 1), None)
        shade = Facts(colours=(colour,) if colour else ())
        named.setdefault(mention.id, display(c.flowers[mention.id], shade, lang))
    return list(named.values())


def bounded(items: list[str]) -> list[str]:
    """Drop the oldest lines until the summary fits, sparing lines that first told a fact."""
    kept = list(items)
    spared = _first_tellers(kept)
    while len("\n".join(kept)) > MAX_SUMMARY_CHARS and len(kept) > 1:
        drop = next((i for i, spare in enumerate(spared) if not spare), 0)
        del kept[drop], spared[drop]
    return kept


def _first_tellers(items: list[str]) -> list[bool]:
    """For each summary line: does the customer state a fact here for the first time?"""
    seen: set[tuple[str, object]] = set()
    flags = []
    for item in items:
        facts = set() if item.startswith(SHOP_PREFIXES) else extract_facts(item).keys()
        flags.append(bool(facts - seen))
        seen |= facts
    return flags


def _join(items: list[str], lang: str) -> str:
    """A、B和C / A, B and C."""
    if len(items) < 2:
        return "".join(items)
    comma, last = ("、", "和") if lang == "zh" else (", ", " and ")
    return comma.join(items[:-1]) + last + items[-1]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _money(value: float) -> str:
    return f"{round(value, 1):g}"
