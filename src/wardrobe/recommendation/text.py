"""Free-text requests: "smart casual for a rainy 10°C day" -> :class:`Constraints`.

A small keyword parser (no model): temperatures with a unit (``10°C``, ``50 F``, ``-3 degrees``),
weather words (rain, hot, chilly...), seasons, occasions and their everyday words (wedding ->
formal, office -> business casual, gym -> athletic). Words it does not know are ignored, never an
error. The request's CLIP text embedding is a separate, softer signal (the recommender ranks by
the cosine between it and the garments' image embeddings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType

from wardrobe import taxonomy
from wardrobe.recommendation.constraints import Constraints

# everyday words -> occasion (the occasion names themselves, spaces or hyphens, match too)
OCCASION_WORDS = MappingProxyType(
    {
        "wedding": "formal",
        "gala": "formal",
        "black tie": "formal",
        "funeral": "formal",
        "opera": "formal",
        "interview": "business",
        "meeting": "business",
        "suit": "business",
        "office": "business_casual",
        "work": "business_casual",
        "date": "smart_casual",
        "dinner": "smart_casual",
        "party": "smart_casual",
        "brunch": "casual",
        "weekend": "casual",
        "beach": "casual",
        "relaxed": "casual",
        "gym": "athletic",
        "workout": "athletic",
        "running": "athletic",
        "sport": "athletic",
        "sporty": "athletic",
        "hiking": "athletic",
    }
)
SEASON_WORDS = MappingProxyType({"autumn": "fall", **{s: s for s in taxonomy.SEASONS}})
# words -> a representative temperature (°C) when the request gives no number
TEMPERATURE_WORDS = MappingProxyType(
    {
        "scorching": 32.0,
        "hot": 29.0,
        "warm": 22.0,
        "mild": 16.0,
        "cool": 11.0,
        "chilly": 8.0,
        "cold": 3.0,
        "snow": -2.0,
        "snowy": -2.0,
        "freezing": -5.0,
    }
)
RAIN_WORDS = frozenset({"rain", "rainy", "raining", "wet", "drizzle", "showers", "stormy"})
_TEMPERATURE = re.compile(
    r"(?<![\w.])([-+−]?\d{1,3}(?:[.,]\d+)?)\s*(?:°\s*|º\s*|deg(?:rees?)?\s*)?([cf])?\b(?!\w)",
    re.IGNORECASE,
)
_HAS_UNIT = re.compile(r"°|º|deg|\d\s*[cf]\b", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedRequest:
    """What the parser understood: constraints and the phrases it used."""

    constraints: Constraints
    understood: list[str] = field(default_factory=list)


def _occasion_patterns() -> list[tuple[re.Pattern[str], str]]:
    words = dict(OCCASION_WORDS)
    for name in taxonomy.OCCASIONS:
        words[name.replace("_", " ")] = name
    # longest phrases first: "smart casual" before "casual", "business casual" before "business"
    ordered = sorted(words, key=len, reverse=True)
    out = []
    for phrase in ordered:
        body = r"[\s_-]+".join(re.escape(part) for part in phrase.split())
        out.append((re.compile(rf"\b{body}\b"), words[phrase]))
    return out


_OCCASIONS = _occasion_patterns()


def _temperature(text: str) -> tuple[float, str] | None:
    for match in _TEMPERATURE.finditer(text):
        number, unit = match.group(1), match.group(2)
        if not unit and not _HAS_UNIT.search(match.group(0)):
            continue  # a bare number ("2 outfits") is not a temperature
        value = float(number.replace("−", "-").replace(",", "."))
        if unit and unit.lower() == "f":
            value = (value - 32.0) * 5.0 / 9.0
        if -50.0 <= value <= 60.0:
            return round(value, 1), match.group(0).strip()
    return None


def parse_request(text: str) -> ParsedRequest:
    """Constraints a free-text request implies (unknown words are ignored)."""
    lowered = " " + text.lower() + " "
    values: dict[str, object] = {}
    understood: list[str] = []
    for pattern, occasion in _OCCASIONS:
        found = pattern.search(lowered)
        if found:
            values["occasion"] = occasion
            understood.append(found.group(0).strip())
            break
    words = set(re.findall(r"[a-z]+", lowered))
    temperature = _temperature(text)
    if temperature is not None:
        values["temperature_c"], phrase = temperature
        understood.append(phrase)
    else:
        for word, value in TEMPERATURE_WORDS.items():
            if word in words:
                values["temperature_c"] = value
                understood.append(word)
                break
    rain = sorted(words & RAIN_WORDS)
    if rain:
        values["rain"] = True
        understood += rain
    seasons = sorted({SEASON_WORDS[w] for w in words if w in SEASON_WORDS})
    if seasons:
        values["seasons"] = seasons
        understood += [w for w in sorted(words) if w in SEASON_WORDS]
    return ParsedRequest(Constraints.model_validate(values), understood)
