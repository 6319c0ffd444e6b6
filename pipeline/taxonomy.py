"""The topic taxonomy, read from data/taxonomy.yaml (codes, Vietnamese names, sensitive flags)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.config import get_settings

OTHER = "other"


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy."""

    code: str
    name: str
    description: str
    sensitive: bool


@dataclass(frozen=True)
class Taxonomy:
    """Topics, the `other` label and the signals, in file order."""

    topics: tuple[Topic, ...]
    other: Topic
    signals: tuple[Topic, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the topic codes without `other`."""
        return tuple(t.code for t in self.topics)

    def name(self, code: str) -> str:
        """Return the Vietnamese name of a topic or signal code (the code itself if unknown)."""
        for item in (*self.topics, self.other, *self.signals):
            if item.code == code:
                return item.name
        return code


def load_taxonomy(path: Path) -> Taxonomy:
    """Return the taxonomy stored in a YAML file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    topics = tuple(
        Topic(t["code"], t["name"], " ".join(t.get("description", "").split()),
              bool(t.get("sensitive", False)))
        for t in raw["topics"]
    )
    other = raw["other"]
    signals = tuple(Topic(s["code"], s["name"], s.get("description", ""), False)
                    for s in raw.get("signals", []))
    other_topic = Topic(other["code"], other["name"], other.get("description", ""), False)
    return Taxonomy(topics, other_topic, signals)


@lru_cache(maxsize=4)
def default_taxonomy(data_dir: Path | None = None) -> Taxonomy:
    """Return the taxonomy in the configured data directory."""
    return load_taxonomy((data_dir or get_settings().data_dir) / "taxonomy.yaml")


def topic_names() -> dict[str, str]:
    """Return {code: Vietnamese name} for topics, `other` and signals."""
    taxonomy = default_taxonomy()
    return {t.code: t.name for t in (*taxonomy.topics, taxonomy.other, *taxonomy.signals)}
