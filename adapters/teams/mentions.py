"""Mentions in a Teams message: `<at>Ana</at>` tags paired with the message's mention entities.

Teams writes a mention as `<at>name</at>` in the text and describes who it is in an
entity, in the same order. Two people can share a name, so each tag is replaced by a
token naming its entity (`<at:0>`) before parsing; the bot's own mention is dropped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from botbuilder.schema import Activity

TAG = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
TOKEN = re.compile(r"<at:(\d+)>")


@dataclass(frozen=True, slots=True)
class Mentioned:
    member_id: str
    name: str
    aad_object_id: str | None = None


@dataclass(frozen=True, slots=True)
class Tokenised:
    text: str
    mentioned: list[Mentioned]  # token N names mentioned[N]

    def account(self, token: str) -> Mentioned | None:
        """None for a token that no entity of this message backs (typed, not mentioned)."""
        found = TOKEN.fullmatch(token)
        n = int(found.group(1)) if found else len(self.mentioned)
        return self.mentioned[n] if n < len(self.mentioned) else None

    def plain(self, value: str) -> str:
        """Free text as people saw it: names for the tokens, HTML entities decoded last
        (so a typed `&lt;at:0&gt;` stays text and never becomes a mention)."""
        named = TOKEN.sub(lambda m: a.name if (a := self.account(m.group(0))) else m[0], value)
        return html.unescape(named)


def tokenise(activity: Activity) -> Tokenised:
    entities = [
        e.additional_properties.get("mentioned") or {}
        for e in activity.entities or []
        if (e.type or "").casefold() == "mention"
    ]
    bot_id = activity.recipient.id if activity.recipient else None
    mentioned: list[Mentioned] = []
    index: dict[str, int] = {}
    pending = iter(entities)

    def replace(tag: re.Match[str]) -> str:
        entity = next(pending, None)
        if not entity or not entity.get("id") or entity["id"] == bot_id:
            return " "
        member_id = entity["id"]
        if member_id not in index:
            index[member_id] = len(mentioned)
            name = entity.get("name") or html.unescape(tag.group(1))
            mentioned.append(Mentioned(member_id, name, entity.get("aadObjectId")))
        return f" <at:{index[member_id]}> "

    text = TAG.sub(replace, (activity.text or "").replace("\xa0", " "))
    return Tokenised(text.strip(), mentioned)
