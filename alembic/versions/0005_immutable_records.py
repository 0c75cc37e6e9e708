"""immutable records: the database refuses to change a revision, an approval, a check-in,
or what a resource holds (its content and the approval it came from; its status may change)

The ORM already refuses (service/models.py); these triggers also stop a stray UPDATE from
any other code or a console session. The audit log is not given one: its hash chain
already makes a changed row detectable (`homework audit verify`), and the tests that prove
that must be able to change a row.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:40:00
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ('draft_revisions', 'approvals', 'check_ins')
# a resource's status moves (active → retired); what the client is shown never does
RESOURCE_CHANGED = {
    'postgresql': "OLD.content IS DISTINCT FROM NEW.content "
                  "OR OLD.approval_id IS DISTINCT FROM NEW.approval_id",
    'sqlite': "OLD.content IS NOT NEW.content OR OLD.approval_id IS NOT NEW.approval_id",
}


def upgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% rows are immutable: add a new one instead', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION refuse_update()")
        op.execute(f"CREATE TRIGGER resources_immutable BEFORE UPDATE ON resources "
                   f"FOR EACH ROW WHEN ({RESOURCE_CHANGED['postgresql']}) "
                   f"EXECUTE FUNCTION refuse_update()")
    else:
        for table in TABLES:
            op.execute(_sqlite_trigger(table, ""))
        op.execute(_sqlite_trigger('resources', f" WHEN {RESOURCE_CHANGED['sqlite']}"))


def _sqlite_trigger(table: str, when: str) -> str:
    return (f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table}{when} BEGIN "
            f"SELECT RAISE(ABORT, '{table} rows are immutable: add a new one instead'); END")


def downgrade() -> None:
    for table in (*TABLES, 'resources'):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable"
                   + (f" ON {table}" if op.get_context().dialect.name == 'postgresql' else ""))
    if op.get_context().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS refuse_update()")
