"""All configuration, read once at start-up from the environment and `.env`.

An adapter is enabled when its credentials are set; secrets are `SecretStr` so
they never end up in a log line or a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_db_path"]


def default_db_path() -> Path:
    """`./citewise.db` when one exists here (a project-local store), else the user data dir."""
    local = Path("citewise.db")
    if local.exists():
        return local
    return Path(user_data_dir("citewise", appauthor=False)) / "citewise.db"


def _openalex_only() -> list[Literal["openalex", "arxiv"]]:
    return ["openalex"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    # ── store and answers ────────────────────────────────────────────────
    db_path: Path = Field(default_factory=default_db_path, validation_alias=AliasChoices("CITEWISE_DB", "db_path"))
    # PostgreSQL for many workers (postgresql://user:password@host/db); unset, the SQLite file above.
    database_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("CITEWISE_DATABASE_URL", "DATABASE_URL", "database_url")
    )
    database_pool_size: int = Field(8, ge=1, validation_alias=AliasChoices("CITEWISE_DATABASE_POOL", "database_pool_size"))
    # Where a PostgreSQL worker keeps its own search index (one numbered slot per live process).
    index_dir: Path | None = Field(None, validation_alias=AliasChoices("CITEWISE_INDEX_DIR", "index_dir"))
    # Seconds a worker may go without a heartbeat before another takes over its unanswered questions.
    claim_timeout: float = Field(30.0, gt=0, validation_alias=AliasChoices("CITEWISE_CLAIM_TIMEOUT", "claim_timeout"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("CITEWISE_LOG_LEVEL", "log_level"))
    max_question_chars: int = Field(2_000, validation_alias=AliasChoices("CITEWISE_MAX_QUESTION_CHARS", "max_question_chars"))
    max_concurrent_answers: int = Field(8, validation_alias=AliasChoices("CITEWISE_MAX_CONCURRENT", "max_concurrent_answers"))
    per_user_concurrency: int = Field(2, validation_alias=AliasChoices("CITEWISE_PER_USER_CONCURRENCY", "per_user_concurrency"))

    # ── optional dense retrieval (pip install 'citewise[dense]') ─────────
    dense: bool = Field(False, validation_alias=AliasChoices("CITEWISE_DENSE", "dense"))
    # Chosen on the SciFact tuning claims (README, "Optional dense retrieval").
    dense_fusion: Literal["rrf", "weighted"] = Field(
        "weighted", validation_alias=AliasChoices("CITEWISE_DENSE_FUSION", "dense_fusion")
    )
    # Share of the fused score that the dense ranking carries (0 = BM25 only, 1 = dense only).
    dense_weight: float = Field(0.5, ge=0, le=1, validation_alias=AliasChoices("CITEWISE_DENSE_WEIGHT", "dense_weight"))

    # ── optional LLM synthesis (an OpenAI-compatible chat-completions server) ──
    # Off unless the URL is set; TrueCite checks every sentence the model writes.
    llm_url: str | None = Field(None, validation_alias=AliasChoices("CITEWISE_LLM_URL", "llm_url"))
    llm_model: str = Field("default", validation_alias=AliasChoices("CITEWISE_LLM_MODEL", "llm_model"))
    llm_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("CITEWISE_LLM_API_KEY", "llm_api_key"))
    # Seconds the model has for one whole answer (retries after a 429 included).
    llm_timeout: float = Field(30.0, gt=0, validation_alias=AliasChoices("CITEWISE_LLM_TIMEOUT", "llm_timeout"))
    llm_max_tokens: int = Field(700, gt=0, validation_alias=AliasChoices("CITEWISE_LLM_MAX_TOKENS", "llm_max_tokens"))
    # Prompt + reply, estimated at 4 characters a token: passages are trimmed to fit.
    llm_token_budget: int = Field(4_000, gt=0, validation_alias=AliasChoices("CITEWISE_LLM_TOKEN_BUDGET", "llm_token_budget"))

    # ── literature sources and the live fallback ──────────────────────────
    contact_email: str | None = Field(None, validation_alias=AliasChoices("CITEWISE_CONTACT", "contact_email"))
    offline: bool = Field(False, validation_alias=AliasChoices("CITEWISE_OFFLINE", "offline"))
    openalex_url: str = Field(
        "https://api.openalex.org", validation_alias=AliasChoices("CITEWISE_OPENALEX_URL", "openalex_url")
    )
    arxiv_url: str = Field(
        "https://export.arxiv.org/api/query", validation_alias=AliasChoices("CITEWISE_ARXIV_URL", "arxiv_url")
    )
    crossref_url: str = Field(
        "https://api.crossref.org", validation_alias=AliasChoices("CITEWISE_CROSSREF_URL", "crossref_url")
    )
    literature_timeout: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("CITEWISE_LITERATURE_TIMEOUT", "literature_timeout")
    )
    literature_retries: int = Field(3, ge=0, validation_alias=AliasChoices("CITEWISE_LITERATURE_RETRIES", "literature_retries"))
    literature_backoff: float = Field(
        0.5, ge=0, validation_alias=AliasChoices("CITEWISE_LITERATURE_BACKOFF", "literature_backoff")
    )
    literature_min_interval: float = Field(
        0.1, ge=0, validation_alias=AliasChoices("CITEWISE_LITERATURE_MIN_INTERVAL", "literature_min_interval")
    )
    arxiv_min_interval: float = Field(3.0, ge=0, validation_alias=AliasChoices("CITEWISE_ARXIV_MIN_INTERVAL", "arxiv_min_interval"))
    literature_cache_ttl: float = Field(
        600.0, ge=0, validation_alias=AliasChoices("CITEWISE_LITERATURE_CACHE_TTL", "literature_cache_ttl")
    )
    # The live fallback asks the literature when the best cited paper covers less than this share
    # of the question's content words (or nothing was found at all).
    fallback_threshold: float = Field(
        0.5, ge=0, le=1, validation_alias=AliasChoices("CITEWISE_FALLBACK_THRESHOLD", "fallback_threshold")
    )
    fallback_budget: float = Field(8.0, ge=0, validation_alias=AliasChoices("CITEWISE_FALLBACK_BUDGET", "fallback_budget"))
    fallback_results: int = Field(5, ge=0, validation_alias=AliasChoices("CITEWISE_FALLBACK_RESULTS", "fallback_results"))
    fallback_sources: list[Literal["openalex", "arxiv"]] = Field(
        default_factory=_openalex_only, validation_alias=AliasChoices("CITEWISE_FALLBACK_SOURCES", "fallback_sources")
    )

    # ── Slack ─────────────────────────────────────────────────────────────
    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_api_url: str | None = Field(None, validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"))
    # Multi-workspace ("Add to Slack"): the app's OAuth credentials; each workspace's token is then
    # kept (encrypted with CITEWISE_SECRET_KEY) in the PostgreSQL database instead of SLACK_BOT_TOKEN.
    slack_client_id: str | None = Field(None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "slack_client_id"))
    slack_client_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "slack_client_secret")
    )
    slack_scopes: list[str] | None = Field(None, validation_alias=AliasChoices("SLACK_SCOPES", "slack_scopes"))
    slack_authorize_url: str = Field(
        "https://slack.com/oauth/v2/authorize",
        validation_alias=AliasChoices("SLACK_AUTHORIZE_URL", "slack_authorize_url"),
    )
    secret_key: SecretStr | None = Field(None, validation_alias=AliasChoices("CITEWISE_SECRET_KEY", "secret_key"))
    slack_answer_bots: bool = Field(False, validation_alias=AliasChoices("SLACK_ANSWER_BOTS", "slack_answer_bots"))
    port: int = Field(3000, validation_alias=AliasChoices("PORT", "port"))
    # The interface Slack HTTP mode listens on: all of them by default (a load balancer must
    # reach it); 127.0.0.1 keeps it on loopback behind a local reverse proxy.
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("HOST", "host"))

    # ── Discord ───────────────────────────────────────────────────────────
    discord_token: SecretStr | None = Field(None, validation_alias=AliasChoices("DISCORD_TOKEN", "discord_token"))
    discord_guild_id: int | None = Field(None, validation_alias=AliasChoices("DISCORD_GUILD_ID", "discord_guild_id"))
    discord_api_url: str | None = Field(None, validation_alias=AliasChoices("DISCORD_API_URL", "discord_api_url"))
    # Override of the gateway websocket; when only DISCORD_API_URL is set, that API's /gateway/bot is asked.
    discord_gateway_url: str | None = Field(
        None, validation_alias=AliasChoices("DISCORD_GATEWAY_URL", "discord_gateway_url")
    )
    # The privileged message-content intent: needed for plain follow-ups in a thread (not for /ask or mentions).
    discord_message_content: bool = Field(
        True, validation_alias=AliasChoices("DISCORD_MESSAGE_CONTENT", "discord_message_content")
    )

    # ── the web chat (adapters/web) ───────────────────────────────────────
    # Served by `citewise run` when no chat platform is configured; CITEWISE_WEB=1 serves it beside them.
    web: bool = Field(False, validation_alias=AliasChoices("CITEWISE_WEB", "web"))
    web_host: str = Field("127.0.0.1", validation_alias=AliasChoices("CITEWISE_WEB_HOST", "web_host"))
    # Required to bind anywhere but loopback: sent as a bearer token, or entered once on the page.
    web_token: SecretStr | None = Field(None, validation_alias=AliasChoices("CITEWISE_WEB_TOKEN", "web_token"))

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("CITEWISE_DATABASE_URL must be a postgresql:// URL (unset it to use the SQLite file)")
        return value

    @property
    def postgres_url(self) -> str | None:
        """The PostgreSQL URL when one is configured (the SQLite file is used otherwise)."""
        return None if self.database_url is None else self.database_url.get_secret_value()

    @property
    def pg_index_dir(self) -> Path:
        return self.index_dir or Path(user_data_dir("citewise", appauthor=False)) / "pg-index"

    @property
    def slack_oauth_enabled(self) -> bool:
        """Many workspaces: OAuth credentials and a signing secret, and no single bot token."""
        return (self.slack_bot_token is None and self.slack_client_id is not None
                and self.slack_client_secret is not None and self.slack_signing_secret is not None)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_oauth_enabled or (self.slack_bot_token is not None and (
            self.slack_app_token is not None or self.slack_signing_secret is not None
        ))

    @property
    def fallback_enabled(self) -> bool:
        return not self.offline and self.fallback_budget > 0 and self.fallback_results > 0 and bool(self.fallback_sources)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_url)

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None
