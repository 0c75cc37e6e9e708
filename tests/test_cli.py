"""The `homework` command line, run in-process on the test database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from service.cli import main
from tests.factories import PORCH_REQUEST


def test_draft_json_prints_the_contract_keys(capsys):
    main(["draft", PORCH_REQUEST, "--client", "Maria", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"template_id", "candidates", "worksheet", "findings"}
    assert result["template_id"] == "behavioral_activation"
    assert result["worksheet"]["template_id"] == "behavioral_activation"
    assert not [f for f in result["findings"] if f["severity"] == "error"]


def test_create_clinician_and_key(capsys):
    main(["create-clinician", "--email", "cli@example.org", "--name", "Dr CLI",
          "--password", "a long enough password", "--organisation", "CLI practice"])
    main(["create-api-key", "--clinician", "cli@example.org"])
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("hw_") and len(key) > 40


def test_bad_input_is_a_clear_message_not_a_traceback(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["create-clinician", "--email", "x@example.org", "--name", "X",
              "--password", "short"])
    assert exit_info.value.code == 2
    assert "at least 10 characters" in capsys.readouterr().err


def _audited_reads(client, tenant, n: int) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_client

    c = make_client(client, tenant)
    for _ in range(n):
        assert client.get(f"/api/v1/clients/{c['id']}", headers=tenant.integration).is_success


def test_audit_verify_reports_intact_then_an_edited_row(client, tenant, capsys):
    from sqlalchemy import update

    from service.db import transaction
    from service.models import AuditEvent

    _audited_reads(client, tenant, 3)
    main(["audit", "verify"])
    assert "intact" in capsys.readouterr().out
    with transaction() as session:
        first = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
        session.execute(update(AuditEvent).where(AuditEvent.id == first.id)
                        .values(actor="clinician:999"))
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify"])
    assert exit_info.value.code == 1
    assert f"event {first.id}: content does not match its hash" in capsys.readouterr().out


def test_an_anchor_catches_the_newest_events_deleted(client, tenant, capsys):
    from sqlalchemy import delete

    from service.db import transaction
    from service.models import AuditEvent

    _audited_reads(client, tenant, 2)
    capsys.readouterr()
    main(["audit", "head"])
    anchor = capsys.readouterr().out.strip()
    main(["audit", "verify", "--anchor", anchor])
    assert "intact" in capsys.readouterr().out
    anchor_id = int(anchor.split(":")[0])
    with transaction() as session:  # cut the tail: the chain alone still links up
        session.execute(delete(AuditEvent).where(AuditEvent.id >= anchor_id - 1))
    main(["audit", "verify"])
    assert "intact" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify", "--anchor", anchor])
    assert exit_info.value.code == 1
    assert f"anchor {anchor_id}: not in the chain" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:
        main(["audit", "verify", "--anchor", "yesterday"])
    assert bad.value.code == 2 and "id:hash" in capsys.readouterr().err


def test_audit_list_filters_by_client_actor_and_date(client, tenant, capsys):
    from tests.factories import make_client

    mine = make_client(client, tenant)
    other = make_client(client, tenant, external_id="AUD-2")
    client.get(f"/api/v1/clients/{mine['id']}", headers=tenant.integration)
    capsys.readouterr()
    main(["audit", "list", "--client", str(mine["id"])])
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(f"client={mine['id']}" in line for line in lines)
    assert not any(f"client={other['id']}" in line for line in lines)
    main(["audit", "list", "--actor", f"integration:{tenant.organisation_id}"])
    by_key = capsys.readouterr().out.splitlines()
    assert by_key and all(f" integration:{tenant.organisation_id} " in line for line in by_key)
    assert any("  client.read  client:" in line for line in by_key)
    main(["audit", "list", "--until", "2000-01-01"])
    assert capsys.readouterr().out == ""
    main(["audit", "list", "--since", "2000-01-01", "--client", str(mine["id"])])
    assert len(capsys.readouterr().out.splitlines()) == len(lines)


def test_audit_list_bad_date_is_a_clear_message(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "list", "--since", "last tuesday"])
    assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_serve_refuses_several_processes_on_sqlite(monkeypatch):
    """Two processes on one SQLite file could fork the audit chain: refused, with the fix."""
    from service.config import get_settings

    monkeypatch.setenv("HOMEWORK_DATABASE_URL", "sqlite:///somewhere.db")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as refused:
            main(["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert "PostgreSQL" in str(refused.value.code)
