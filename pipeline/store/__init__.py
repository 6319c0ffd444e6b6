"""The only SQL in the project: tables, migrations, petitions, aggregates, alerts, accounts.

The names most callers need are re-exported here, so `from pipeline.store import PetitionStore`
works whichever module of the package defines it.
"""

from pipeline.store.accounts import SecurityStore
from pipeline.store.alerts import AlertStore
from pipeline.store.database import StoreError, create_db_engine, migrate, utcnow
from pipeline.store.petitions import PetitionFilter, PetitionStore, get_petition, list_petitions
from pipeline.store.schema import (
    alert_deliveries,
    alert_rules,
    alerts,
    api_tokens,
    audit_log,
    duplicates,
    ingest_runs,
    metadata,
    petition_signals,
    petition_topics,
    petitions,
    quarantine,
    sessions,
    users,
)

__all__ = [
    "AlertStore", "PetitionFilter", "PetitionStore", "SecurityStore", "StoreError",
    "alert_deliveries", "alert_rules", "alerts", "api_tokens", "audit_log", "create_db_engine",
    "duplicates", "get_petition", "ingest_runs", "list_petitions", "metadata", "migrate",
    "petition_signals", "petition_topics", "petitions", "quarantine", "sessions", "users",
    "utcnow",
]
