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
