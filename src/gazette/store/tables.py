"""Table definitions: the one description of every table (SQLAlchemy Core).

Every table a capability adds carries `workspace_id`; migrations in `migrations/versions`
create them, in order.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    func,
    text,
)

from gazette.store.types import UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

DEFAULT_WORKSPACE = "default"

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True), nullable=True),
)

personal_access_tokens = Table(
    "personal_access_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("name", String(100), nullable=False),
    Column("provider", String(50), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("token_prefix", String(20), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("role", String(20), nullable=False),
    Column("allow_operator_llm", Boolean, nullable=False, server_default=false()),
    Column("rate_limit_rpm", Integer, nullable=True),
    Column("rate_limit_rpd", Integer, nullable=True),
    Column("requests_today", Integer, nullable=False, server_default="0"),
    Column("requests_day", Date, nullable=True),
    Column("last_request_at", UtcDateTime, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("revoked_at", UtcDateTime, nullable=True),
    # One active secret per name, provider and workspace; revoked ones stay as history.
    Index(
        "uq_personal_access_tokens_active_name",
        "workspace_id",
        "provider",
        "name",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Position in the chain; unique with prev_hash, so concurrent appends can never fork it.
    Column("seq", Integer, nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("workspace", String(64), nullable=True),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", String(200), nullable=False),
    Column("event", String(100), nullable=False),
    Column("target", String(500), nullable=True),
    Column("outcome", String(50), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)

vault_secrets = Table(
    "vault_secrets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The credential this secret belongs to (its metadata row); one secret per credential.
    Column("token_id", Integer, ForeignKey("personal_access_tokens.id"), nullable=False, unique=True),
    Column("key_id", String(16), nullable=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

rate_limit_log = Table(
    "rate_limit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    # The provider credential used (None for an operator key from settings).
    Column("token_id", Integer, ForeignKey("personal_access_tokens.id"), nullable=True),
    Column("user_id", String(200), nullable=False),
    Column("provider", String(50), nullable=False),
    Column("endpoint", String(500), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_rate_limit_log_provider_created", "provider", "created_at"),
)

repos = Table(
    "repos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("root_path", String(4096), nullable=False),
    Column("status", String(20), nullable=False),
    Column("last_indexed_at", UtcDateTime, nullable=True),
    Column("last_error", String(2000), nullable=True),
    Column("file_count", Integer, nullable=False, server_default="0"),
    Column("chunk_count", Integer, nullable=False, server_default="0"),
    Column("skipped_count", Integer, nullable=False, server_default="0"),
    Column("error_count", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    # The model that made this repository's vectors (None: no vectors); another model re-embeds.
    Column("embedding_model", String(200), nullable=True),
    Index("uq_repos_workspace_name", "workspace_id", "name", unique=True),
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repo_id", Integer, ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(4096), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("language", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("error", String(2000), nullable=True),
    Column("chunk_count", Integer, nullable=False, server_default="0"),
    Index("uq_files_repo_path", "repo_id", "path", unique=True),
)

chunks = Table(
    "chunks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", Integer, ForeignKey("files.id", ondelete="CASCADE"), nullable=False),
    Column("repo_id", Integer, ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("start_line", Integer, nullable=False),
    Column("end_line", Integer, nullable=False),
    Column("heading", String(1000), nullable=True),
    Column("text", Text, nullable=False),
    # What full-text search indexes: the text plus split identifiers, heading and path segments.
    # PostgreSQL only (its generated `tsv` reads it): on SQLite it lives only in the contentless
    # FTS5 table `chunks_fts` (migration 0016).
    Column("search_text", Text, nullable=False),
    Column("token_estimate", Integer, nullable=False),
    Index("ix_chunks_file", "file_id"),
    Index("ix_chunks_repo", "repo_id"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("subject", String(200), nullable=True),  # what the job is about, e.g. the repository name
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # queued, running, completed, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("worker", String(200), nullable=True),
    Column("error", String(2000), nullable=True),
    Column("result", JSON, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("heartbeat_at", UtcDateTime, nullable=True),
    Index("ix_jobs_status_created", "status", "created_at"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    # The signing secret, sealed by the vault (Gazette needs it back to sign).
    Column("key_id", String(16), nullable=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(100), nullable=False),
    Column("body", Text, nullable=False),  # exactly the bytes sent (and signed)
    Column("status", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(2000), nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

# The seed's dialog memory: one row per turn of a `gazette ask` conversation, content redacted.
terminal_dialogs = Table(
    "terminal_dialogs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("session_id", String(32), nullable=False),
    Column("turn_number", Integer, nullable=False),
    Column("role", String(20), nullable=False),  # system, user, assistant
    Column("content", Text, nullable=False),
    Column("model", String(300), nullable=True),  # provider:model that answered
    Column("route", String(200), nullable=True),  # the name asked for (an alias, provider:model, an Ollama name)
    Column("tokens_used", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=True),
    Column("context_window", Integer, nullable=True),
    Column("interrupted", Boolean, nullable=False, server_default=false()),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime, nullable=True),
    Index("uq_terminal_dialogs_turn", "workspace_id", "user_id", "session_id", "turn_number", unique=True),
    Index("ix_terminal_dialogs_recent", "workspace_id", "user_id", "timestamp"),
)

# A user's own choice to capture dialogs or not (`gazette training capture`); absent: the setting decides.
dialog_capture = Table(
    "dialog_capture",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("uq_dialog_capture_user", "workspace_id", "user_id", unique=True),
)

# One row per `gazette training export`: what was written where, from which sessions, and what was skipped.
training_datasets = Table(
    "training_datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("format", String(20), nullable=False),  # jsonl, sharegpt, parquet
    Column("path", Text, nullable=True),  # None: written to stdout
    Column("filters", JSON, nullable=False),
    Column("session_ids", JSON, nullable=False),  # the sessions written, in order
    Column("sessions", Integer, nullable=False),
    Column("turns", Integer, nullable=False),
    Column("skipped", JSON, nullable=False),  # {reason: {"count": n, "examples": [session ids]}}
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_training_datasets_user", "workspace_id", "user_id", "created_at"),
)

# The raw terminal transcript of one `gazette training wrap` run (secrets redacted); its turns are in
# terminal_dialogs under the same session.
dialog_transcripts = Table(
    "dialog_transcripts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("session_id", String(32), nullable=False),
    Column("command", JSON, nullable=False),  # argv of the wrapped program
    Column("transcript", Text, nullable=False),
    Column("bytes", Integer, nullable=False),  # size of the raw output before decoding
    Column("exit_code", Integer, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Index("ix_dialog_transcripts_session", "workspace_id", "user_id", "session_id"),
)

# Turns 1..through_turn of a session distilled into a summary by a cheaper model (`training.distill_model`).
dialog_summaries = Table(
    "dialog_summaries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("session_id", String(32), nullable=False),
    Column("through_turn", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("model", String(300), nullable=False),
    Column("source_tokens", Integer, nullable=False),  # estimated tokens of the turns summarised
    Column("tokens", Integer, nullable=False),  # estimated tokens of the summary
    Column("created_at", UtcDateTime, nullable=False),
    Index("uq_dialog_summaries_through", "workspace_id", "user_id", "session_id", "through_turn", unique=True),
)
