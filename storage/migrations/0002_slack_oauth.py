"""Slack installed per school through OAuth, and each school's workspace.

The installation, bot and OAuth-state tables are slack_sdk's own, made from
the table definitions its SQLAlchemy stores publish, so they are exactly
what those stores read and write.
"""

from __future__ import annotations

import sqlalchemy
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

# Which school a workspace (team) or Enterprise Grid organisation belongs to:
# requests are routed to the school by these ids, never by anything a user types.
SCHOOLS = """
ALTER TABLE schools ADD COLUMN slack_team_id text UNIQUE;
ALTER TABLE schools ADD COLUMN slack_enterprise_id text;
CREATE INDEX schools_enterprise ON schools (slack_enterprise_id);
"""


def sql() -> str:
    metadata = sqlalchemy.MetaData()
    tables = (
        SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations"),
        SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots"),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states"),
    )
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    statements = []
    for table in tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements += [str(CreateIndex(index).compile(dialect=dialect))
                       for index in sorted(table.indexes, key=lambda i: str(i.name))]
    return ";\n".join(statements) + ";\n" + SCHOOLS
