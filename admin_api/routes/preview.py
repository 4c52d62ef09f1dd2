"""What the bot would do: one text's decision, or a whole eval file's metrics, before publishing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from admin_api.deps import AnyTokenDep, EditorDep, ServicesDep
from admin_api.errors import ERROR_RESPONSES, ApiError
from knowledge_base.language import LanguageCode
from retrieval.decision import Decision
from retrieval.evaluation import EvalFile
from retrieval.localize import in_language
from retrieval.scratch import run_eval

router = APIRouter(tags=["preview"], responses=ERROR_RESPONSES)

MAX_EVAL_QUERIES = 5000


class AnswerRequest(BaseModel):
    text: str = Field(max_length=100_000, description="what a customer might write")
    language: LanguageCode | None = Field(
        None,
        description="the conversation's language (ru, uk or en): the answer comes in it, from "
        "the entry's translation, else in the entry's main language (answer_language says "
        "which); the text's own language when omitted",
    )


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


@router.post("/eval", summary="Run an eval file against its own FAQ")
async def evaluate(services: ServicesDep, _token: EditorDep, eval_file: EvalFile) -> EvalOut:
    """The file's FAQ goes into a scratch database and index (the live ones are untouched); each
    query is decided there. Same format and metrics as `firstline eval --json`."""
    if len(eval_file.queries) > MAX_EVAL_QUERIES:
        raise ApiError(413, f"an eval file may hold at most {MAX_EVAL_QUERIES} queries")
    outcome = await run_eval(services.settings, eval_file, services.answers.embedder)
    result: dict[str, Any] = outcome.as_dict()
    return EvalOut.model_validate(result)
