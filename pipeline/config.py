"""Settings read from the environment (prefix TAMTU_) with safe local defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the system; tests build their own instance instead of the cached one."""

    model_config = SettingsConfigDict(env_prefix="TAMTU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///tamtu.db"
    data_dir: Path = PROJECT_ROOT / "data"
    model_path: Path = PROJECT_ROOT / "models" / "artifacts" / "topic_model.skops"
    runs_dir: Path = Path("tamtu-runs")
    batch_size: int = 500
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_sender: str = "tamtu@localhost"
    public_base_url: str = "http://127.0.0.1:8000"
    alert_rules_path: Path = PROJECT_ROOT / "data" / "alert-rules.yaml"
    alert_close_after_days: int = 7
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 10 * 1024 * 1024
    gazetteer_dir: Path = PROJECT_ROOT / "data" / "gazetteer"
    # Ingest limits: a bigger file is quarantined whole, a bigger cell quarantines its row, an
    # XLSX/DOCX whose parts unpack to more than max_unpacked_bytes is not opened (zip bombs).
    max_file_bytes: int = 256 * 1024 * 1024
    max_cell_chars: int = 100_000
    max_unpacked_bytes: int = 256 * 1024 * 1024
    # Ingest executors: worker processes (None: every core; 1: in process) or a Dask scheduler.
    ingest_workers: int | None = None
    dask_address: str | None = None
    dask_connect_timeout: float = 20.0
    # Follow-up: days from receipt to the due day per source type, over the defaults of
    # pipeline.store.cases.DEFAULT_DUE_DAYS (JSON in TAMTU_DUE_DAYS, e.g. {"complaint": 55}).
    due_days: dict[str, int] = {}
    # Review: the model's agreement with this month's reviewed petitions below this is a warning.
    agreement_warning: float = 0.8


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment once."""
    return Settings()
