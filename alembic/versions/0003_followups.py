"""follow-ups: a draft names the resource it follows (foreign key, indexed)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

FK = 'fk_drafts_follows_resource_id'
INDEX = 'ix_drafts_follows_resource_id'


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds `drafts` to add a constraint, while other tables point at its rows.

    SQLite's own recipe for such a rebuild: foreign keys off (only possible outside a
    transaction, hence the commits), rebuild, check, foreign keys on again, so the pooled
    connection is left as it was found. PostgreSQL alters the table in place.
    """
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        yield
        return
    raw = bind.connection.dbapi_connection
    assert raw is not None
    raw.commit()
    raw.execute('PRAGMA foreign_keys=OFF')
    try:
        yield
        if raw.execute('PRAGMA foreign_key_check(drafts)').fetchall():
            raise RuntimeError('drafts.follows_resource_id names resources that do not exist')
        raw.commit()
    finally:
        raw.execute('PRAGMA foreign_keys=ON')


def upgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_foreign_key(FK, 'resources', ['follows_resource_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index(INDEX, ['follows_resource_id'], unique=False)


def downgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_constraint(FK, type_='foreignkey')
