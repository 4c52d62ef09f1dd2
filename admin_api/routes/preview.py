"""What the bot would do: one text's decision, what publishing an edited entry would change, or a
whole eval file's metrics, before publishing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from admin_api.deps import AnyTokenDep, EditorDep, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from admin_api.routes.faq_common import EntryKey, valid_entry
from handoff.insights.draft_replay import REPLAY_QUESTIONS, preview_draft
from knowledge_base.content import FaqEntryContent
from knowledge_base.language import LanguageCode
from knowledge_base.repository import unsaved_entry
from retrieval.decision import Decision
from retrieval.evaluation import EvalFile
from retrieval.localize import in_language
from retrieval.scratch import run_eval
from retrieval.sync import indexed_entry

router = APIRouter(tags=["preview"], responses=ERROR_RESPONSES)

MAX_EVAL_QUERIES = 5000
MAX_CHANGES_SHOWN = 50


class AnswerRequest(BaseModel):
    text: str = Field(max_length=100_000, description="what a customer might write")
    language: LanguageCode | None = Field(
        None,
        description="the conversation's language (ru, uk or en): the answer comes in it, from "
        "the entry's translation, else in the entry's main language (answer_language says "
        "which); the text's own language when omitted",
    )


class WhatIfRequest(BaseModel):
    entry: FaqEntryContent = Field(description="the entry as edited, as PUT /faq/{key} takes it")
    text: str | None = Field(
        None, max_length=100_000, description="a question to decide before and after, too"
    )
    language: LanguageCode | None = Field(None, description="that question's language")


class TallyOut(BaseModel):
    answered: int
    clarified: int
    handed_off: int
    answered_with_entry: int = Field(description="answered with this entry")


class ChangeOut(BaseModel):
    text: str
    before: Decision
    after: Decision


class WhatIfOut(BaseModel):
    key: str
    text_before: Decision | None = Field(description="the question asked, on the live FAQ")
    text_after: Decision | None = Field(description="the question asked, with the edit")
    since: datetime = Field(description="the replayed questions were asked since then")
    replayed: int = Field(
        description=f"customers' newest distinct questions (≤ {REPLAY_QUESTIONS})"
    )
    before: TallyOut
    after: TallyOut
    changed: int
    changes: list[ChangeOut] = Field(description=f"the first {MAX_CHANGES_SHOWN} of them")


class EvalMetricsOut(BaseModel):
    self_service: float
    assisted: float
    wrong_answer: float
    uncovered_declined: float
    human_handoff: float
    queries: int


class EvalResultOut(BaseModel):
    text: str
    lang: str | None
    expected: str | None
    decision: Decision


class EvalOut(BaseModel):
    name: str
    metrics: EvalMetricsOut
    results: list[EvalResultOut]


@router.post("/answer", summary="What the bot would answer")
async def answer(
    services: ServicesDep,
    _token: AnyTokenDep,
    request: Annotated[
        AnswerRequest,
        Body(openapi_examples={"question": {"value": {"text": "забыл пароль, что делать?"}}}),
    ],
) -> Decision:
    """The live knowledge base's decision on the text, exactly as the bot would take it."""
    decision = await services.decisions.decide(request.text, request.language)
    return in_language(decision, services.answers.entry, request.language or decision.language)


@router.post("/faq/{key}/what-if", summary="What publishing an edited entry would change")
async def what_if(
    services: ServicesDep, _token: EditorDep, key: EntryKey, request: WhatIfRequest
) -> WhatIfOut:
    """The customers' questions of the last 30 days (the newest 300 distinct ones),
    and `text` if given, decided on the live FAQ and on the FAQ with this entry as edited and
    published (a new key is added); nothing is saved. Without `translations` the entry keeps
    its own."""
    fields = request.entry.model_dump(exclude_unset=True) | {"key": key}
    data = valid_entry(services, fields)
    async with services.sessions() as session:
        entry = indexed_entry(await unsaved_entry(session, data))
    preview = await preview_draft(services, entry, asked=request.text, language=request.language)
    asked = preview.asked or (None, None)
    return WhatIfOut(
        key=key,
        text_before=asked[0],
        text_after=asked[1],
        since=preview.since,
        replayed=preview.replayed,
        before=TallyOut.model_validate(preview.before, from_attributes=True),
        after=TallyOut.model_validate(preview.after, from_attributes=True),
        changed=len(preview.changes),
        changes=[
            ChangeOut(text=change.text, before=change.before, after=change.after)
            for change in preview.changes[:MAX_CHANGES_SHOWN]
        ],
    )


@router.post("/eval", summary="Run an eval file against its own FAQ")
async def evaluate(services: ServicesDep, _token: EditorDep, eval_file: EvalFile) -> EvalOut:
    """The file's FAQ goes into a scratch database and index (the live ones are untouched); each
    query is decided there. Same format and metrics as `firstline eval --json`."""
    if len(eval_file.queries) > MAX_EVAL_QUERIES:
        raise ApiError(413, f"an eval file may hold at most {MAX_EVAL_QUERIES} queries")
    outcome = await run_eval(services.settings, eval_file, services.answers.embedder)
    result: dict[str, Any] = outcome.as_dict()
    return EvalOut.model_validate(result)
