"""login limits: failed logins per network address, and revocable session generations

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('clinicians', sa.Column('session_generation', sa.Integer(),
                                          server_default='0', nullable=False))
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_address', 'login_failures', ['address'])
    op.create_index('ix_login_failures_at', 'login_failures', ['at'])


def downgrade() -> None:
    op.drop_index('ix_login_failures_at', table_name='login_failures')
    op.drop_index('ix_login_failures_address', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_column('clinicians', 'session_generation')
