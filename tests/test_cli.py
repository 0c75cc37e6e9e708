"""The `homework` command line, run in-process on the test database."""

from __future__ import annotations

import json

import pytest

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


def test_audit_verify_reports_intact(capsys):
    main(["audit", "verify"])
    assert "intact" in capsys.readouterr().out


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
