"""Knowledge gaps for editors: what customers asked that the FAQ did not answer, grouped by
meaning, each turned into a draft entry (or more phrasings of an entry) in one call; and the
phrasings agents proposed from the human line, to accept or reject."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field, ValidationError

from admin_api.deps import EditorDep, Moment, RowId, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from admin_api.routes.faq_common import FaqEntryOut
from core.database import transaction, utcnow
from handoff.insights import clustering, gaps, unanswered
from handoff.insights import proposals as phrasing_proposals
from handoff.insights.gaps import GapDraft, KnowledgeGap
from handoff.insights.proposals import PendingPhrasing, PhrasingDecision
from handoff.services import Services
from knowledge_base.formats import FaqEntryData
from knowledge_base.models import EntryStatus
from knowledge_base.repository import EntryExists, create_entry, entry_keys, get_entry
from retrieval.sync import refresh_index

router = APIRouter(prefix="/gaps", tags=["knowledge gaps"], responses=ERROR_RESPONSES)

DEFAULT_PERIOD = timedelta(days=30)

Since = Annotated[Moment | None, Query(description="default: 30 days before until")]
Until = Annotated[Moment | None, Query(description="default: now")]


class GapApplication(BaseModel):
    """What the editor adds to the draft: the answer (needed when agents gave none), a key."""

    answer: str | None = Field(None, min_length=1, max_length=20_000)
    key: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class ProposalDecisionRequest(BaseModel):
    accept: bool


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or utcnow()
    since = since or until - DEFAULT_PERIOD
    if since >= until:
        raise ApiError(422, "since must be before until")
    return since, until


async def _gaps(
    services: Services, since: datetime, until: datetime, threshold: float, limit: int
) -> list[KnowledgeGap]:
    return await gaps.knowledge_gaps(
        services.sessions,
        services.answers.embedder,
        since=since,
        until=until,
        threshold=threshold,
        limit=limit,
    )


async def _gap(services: Services, gap_id: str, since: datetime, until: datetime) -> KnowledgeGap:
    for gap in await _gaps(
        services, since, until, clustering.DEFAULT_THRESHOLD, unanswered.DEFAULT_LIMIT
    ):
        if gap.id == gap_id:
            return gap
    raise ApiError(404, f"no gap {gap_id} in this period: list the gaps of the same period first")


@router.get("", summary="The questions the FAQ did not answer, grouped, biggest first")
async def list_gaps(
    services: ServicesDep,
    _token: EditorDep,
    since: Since = None,
    until: Until = None,
    threshold: Annotated[float, Query(ge=0.5, le=1.0, description="how alike to group")] = (
        clustering.DEFAULT_THRESHOLD
    ),
    limit: Annotated[
        int, Query(ge=1, le=unanswered.MAX_LIMIT, description="newest questions read")
    ] = (unanswered.DEFAULT_LIMIT),
) -> list[KnowledgeGap]:
    start, end = _period(since, until)
    return await _gaps(services, start, end, threshold, limit)


@router.get("/proposals", summary="Phrasings proposed from the human line")
async def proposals(services: ServicesDep, _token: EditorDep) -> list[PendingPhrasing]:
    """Customers' questions an agent answered with an entry (`/faq <key>`), oldest first."""
    async with services.sessions() as session:
        return await phrasing_proposals.pending_phrasing_proposals(session)


@router.post("/proposals/{proposal_id}", summary="Accept or reject a proposed phrasing")
async def decide_proposal(
    services: ServicesDep,
    token: EditorDep,
    proposal_id: RowId,
    request: ProposalDecisionRequest,
) -> PhrasingDecision:
    """Accepted, the text becomes an alternative phrasing (a new version) and the bot knows it."""
    try:
        async with transaction(services.sessions) as session:
            decision = await phrasing_proposals.decide_phrasing_proposal(
                session, proposal_id, accept=request.accept, author=token.name
            )
            entry = await get_entry(session, key=decision.faq_key)
    except phrasing_proposals.UnknownProposal as error:
        raise ApiError(404, str(error)) from None
    except phrasing_proposals.ProposalConflict as error:
        raise ApiError(409, str(error)) from None
    if decision.entry_changed and entry is not None:
        await refresh_index(services.decisions, [entry])
    return decision


@router.get("/{gap_id}/draft", summary="What the gap would become")
async def draft(
    services: ServicesDep, _token: EditorDep, gap_id: str, since: Since = None, until: Until = None
) -> GapDraft:
    start, end = _period(since, until)
    gap = await _gap(services, gap_id, start, end)
    async with services.sessions() as session:
        return gaps.gap_draft(gap, taken_keys=await entry_keys(session))


@router.post(
    "/{gap_id}/apply",
    status_code=status.HTTP_201_CREATED,
    summary="Turn the gap into a draft entry, or into phrasings of the entry agents used",
)
async def apply_gap(
    services: ServicesDep,
    token: EditorDep,
    gap_id: str,
    request: GapApplication,
    response: Response,
    since: Since = None,
    until: Until = None,
) -> FaqEntryOut:
    """A new entry stays a draft until published (POST /faq/{key}/publish); phrasings added to
    an existing entry are live at once."""
    start, end = _period(since, until)
    gap = await _gap(services, gap_id, start, end)
    try:
        async with transaction(services.sessions) as session:
            suggestion = gaps.gap_draft(gap, taken_keys=await entry_keys(session))
            if suggestion.kind == "add_phrasings":
                entry = await get_entry(session, key=suggestion.faq_key)
                if entry is None or entry.deleted_at is not None:
                    raise ApiError(409, f"entry '{suggestion.faq_key}' is gone: restore it first")
                await phrasing_proposals.add_phrasings(
                    session, entry, suggestion.alt_questions, author=token.name
                )
            else:
                answer = request.answer or suggestion.answer
                if answer is None:
                    raise ApiError(
                        422, "no agent answered these questions yet: send the answer to use"
                    )
                entry = await create_entry(
                    session,
                    FaqEntryData(
                        key=request.key or suggestion.faq_key,
                        question=suggestion.question or gap.question,
                        alt_questions=suggestion.alt_questions,
                        answer=answer,
                        language=suggestion.language,
                        status=EntryStatus.DRAFT,
                    ),
                    author=token.name,
                )
    except EntryExists as error:
        raise ApiError(409, str(error)) from None
    except ValidationError as error:
        raise ApiError(422, f"the draft does not make a valid entry: {error}") from None
    await refresh_index(services.decisions, [entry])
    response.headers["ETag"] = f'"{entry.version}"'
    return FaqEntryOut.of(entry)
