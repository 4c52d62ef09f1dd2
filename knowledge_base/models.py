"""FAQ tables: the entries (source of truth for the index) and their version history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, UtcDateTime, utcnow


class EntryStatus(StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"


class FaqEntry(Base):
    """One FAQ entry: a question, its alternative phrasings and the answer the bot gives, in its
    main language and in each of its translations."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    question: Mapped[str] = mapped_column(Text)
    alt_questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8))  # the main language
    # The entry in other languages: {"uk": {"question", "alt_questions", "answer"}, ...}.
    translations: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.PUBLISHED)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # Soft delete: the entry leaves the bot's index and the lists, and can be restored.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    versions: Mapped[list[FaqVersion]] = relationship(
        back_populates="entry", order_by="FaqVersion.version", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.status == EntryStatus.PUBLISHED

    @property
    def is_live(self) -> bool:
        """What the bot answers with: published and not deleted."""
        return self.is_published and self.deleted_at is None

    @property
    def phrasings(self) -> list[str]:
        """The main question first, then the alternative phrasings."""
        return [self.question, *self.alt_questions]

    def answer_in(self, language: str) -> str:
        """The answer in this language, or in the main one without a translation into it."""
        translation = self.translations.get(language)
        return str(translation["answer"]) if translation else self.answer

    @property
    def every_phrasing(self) -> list[str]:
        """Every phrasing in every language: the main language's, then each translation's."""
        return self.phrasings + [
            phrasing
            for translation in self.translations.values()
            for phrasing in [translation["question"], *translation["alt_questions"]]
        ]


class FaqVersion(Base):
    """A snapshot of an entry after each change: who changed it, when and how."""

    __tablename__ = "faq_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)

    entry: Mapped[FaqEntry] = relationship(back_populates="versions")


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # a customer's pick undone by their 👎 or "not that"


class PhrasingProposal(Base):
    """A customer's question an agent answered with an entry, or the customer picked the entry
    for from "did you mean…": a phrasing editors may add.

    Never published by one customer: an editor accepts it (it becomes an alternative phrasing) or
    not; customers' choices may accept it only when several agree (handoff.insights.choices).
    """

    __tablename__ = "phrasing_proposals"
    __table_args__ = (UniqueConstraint("entry_id", "text"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(64))  # "ticket:12", "customer choice"
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)  # the customer's
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.PROPOSED)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
