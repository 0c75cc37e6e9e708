"""The `homework` command line, run in-process on the test database."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import create_engine, select, text

from service.cli import main
from service.config import ROOT
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


@pytest.mark.parametrize("request_text", ["", "   ", "\n\t"])
def test_draft_of_an_empty_request_is_an_error_not_a_draft(capsys, request_text):
    with pytest.raises(SystemExit) as exit_info:
        main(["draft", request_text, "--json"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "homework: the request is empty" in captured.err


def test_create_clinician_prompts_for_the_password_twice(monkeypatch, capsys):
    from argon2 import PasswordHasher

    from service.db import transaction
    from service.models import Clinician

    prompts: list[str] = []

    def fake_getpass(prompt: str = "Password: ") -> str:
        prompts.append(prompt)
        return "a long enough password"

    monkeypatch.setattr("service.cli.getpass.getpass", fake_getpass)
    main(["create-clinician", "--email", "prompted@example.org", "--name", "Dr Prompt",
          "--organisation", "Prompt practice"])
    assert len(prompts) == 2
    assert "created" in capsys.readouterr().out
    with transaction() as session:
        clinician = session.scalar(select(Clinician).where(
            Clinician.email == "prompted@example.org"))
        assert clinician is not None
        assert PasswordHasher().verify(clinician.password_hash, "a long enough password")


def test_create_clinician_refuses_passwords_that_do_not_match(monkeypatch, capsys):
    from service.db import transaction
    from service.models import Clinician

    answers = iter(["a long enough password", "a different password!"])
    monkeypatch.setattr("service.cli.getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(SystemExit) as exit_info:
        main(["create-clinician", "--email", "mismatch@example.org", "--name", "Dr M"])
    assert exit_info.value.code == 2
    assert "passwords do not match" in capsys.readouterr().err
    with transaction() as session:
        assert session.scalar(select(Clinician).where(
            Clinician.email == "mismatch@example.org")) is None


def test_create_clinician_help_says_the_password_is_prompted_for(capsys):
    with pytest.raises(SystemExit):
        main(["create-clinician", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "prompted for" in help_text and "shell history" in help_text


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


# --- the installed entry point, end to end, in subprocesses -----------------------------------

HOMEWORK = ROOT / ".venv" / "bin" / "homework"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, key: str | None = None, body: dict[str, str] | None = None,
         method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {key}"} if key else {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _serve_until_healthy(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([str(HOMEWORK), "serve", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited {server.returncode}: "
                                 f"{server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            status, body = _get(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            time.sleep(0.1)
            continue
        assert status == 200 and json.loads(body)["status"] == "ok", (status, body)
        return server
    server.kill()
    raise AssertionError("serve did not answer /healthz within 45 s")


def test_the_installed_command_end_to_end(tmp_path, capsys):
    """`.venv/bin/homework` as an operator runs it, on a fresh SQLite file, no LLM model.
    Steps that do not depend on each other run at once, to keep the test short."""
    db = tmp_path / "cli.db"
    env = {**os.environ, "HOMEWORK_DATABASE_URL": f"sqlite:///{db}",
           "HOMEWORK_WEBHOOK_DISPATCH": "false"}
    env.pop("HOMEWORK_LLM_MODEL", None)
    env.pop("HOMEWORK_LLM_FALLBACK_MODEL", None)

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(HOMEWORK), *args], env=env, cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(process: subprocess.Popen[str]) -> str:
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, (process.args, out, err[-2000:])
        return out

    assert "database migrated" in finish(start("migrate"))
    demo = start("demo")
    clinician = start("create-clinician", "--email", "Smoke@Example.org", "--name", "Dr Smoke",
                      "--password", "a long enough password", "--organisation", "Smoke practice")
    draft = start("draft", PORCH_REQUEST, "--client", "Maria")
    port = _free_port()
    server = _serve_until_healthy(env, port)
    try:
        shown = finish(demo)
        assert "demo clinician login: demo@example.org / demo-password-123" in shown
        assert "demo client: Sam Demo" in shown  # so the new-draft form has someone to pick
        assert "clinician smoke@example.org created in Smoke practice" in finish(clinician)
        # a personal key, and an integration key of the demo practice (the default)
        personal, integration = (finish(p).strip() for p in [
            start("create-api-key", "--clinician", "smoke@example.org"),
            start("create-api-key")])
        for key in (personal, integration):  # the key alone, on one line, printed this once
            assert re.fullmatch(r"hw_[A-Za-z0-9_-]{40,}", key), key

        base = f"http://127.0.0.1:{port}/api/v1"
        made = _get(f"{base}/clients", integration, {"external_id": "SMOKE-1", "name": "Sam"},
                    method="PUT")
        assert made[0] == 201, made
        client_id = json.loads(made[1])["id"]
        assert _get(f"{base}/clients/{client_id}", integration)[0] == 200
        assert _get(f"{base}/clients/{client_id}", personal)[0] == 404  # another practice
        assert _get(f"{base}/clients", "hw_not-a-key")[0] == 401
        printed = finish(draft)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for process in (demo, clinician, draft):
            if process.poll() is None:
                process.kill()
    # uvicorn shuts down on SIGTERM, then re-raises it: killed by SIGTERM is a clean stop
    assert server.returncode in (0, -signal.SIGTERM), (
        server.returncode, server.stderr.read().decode()[-2000:])  # type: ignore[union-attr]

    main(["draft", PORCH_REQUEST, "--client", "Maria", "--json"])  # the same draft, as data
    expected = json.loads(capsys.readouterr().out)
    lines = printed.splitlines()
    assert lines[0].startswith("template: behavioral_activation (") and "offline" in lines[0]
    assert "  template_id: behavioral_activation" in lines
    assert expected["worksheet"]["task"].strip()
    for field in ("task", "when", "where", "frequency", "done_criteria"):
        assert f"  {field}: {expected['worksheet'][field]}" in lines, field
    findings = [line for line in lines if re.match(r"  \[(error|warning|info)\] ", line)]
    assert findings == [f"  [{f['severity']}] {f['code']} ({f['field']}): {f['message']}"
                        for f in expected["findings"]]

    assert finish(start("audit", "verify")).strip() == "audit log intact"
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            keys = conn.execute(text("SELECT k.key_hash, k.clinician_id, o.name FROM api_keys k "
                                     "JOIN organisations o ON o.id = k.organisation_id "
                                     "ORDER BY k.id")).all()
            demo_org = conn.execute(text("SELECT id FROM organisations "
                                         "WHERE name = 'Demo practice'")).scalar_one()
            events = conn.execute(text("SELECT actor, action, client_id FROM audit_events "
                                       "ORDER BY id")).all()
    finally:
        engine.dispose()
    assert sorted((h, clinician_id is not None, org) for h, clinician_id, org in keys) == sorted([
        (hashlib.sha256(personal.encode()).hexdigest(), True, "Smoke practice"),
        (hashlib.sha256(integration.encode()).hexdigest(), False, "Demo practice")])
    demo_client = [e for e in events if e[2] != client_id]
    assert [e[1] for e in demo_client] == ["client.created"]
    assert demo_client[0][0].startswith("clinician:")
    assert [tuple(e) for e in events if e[2] == client_id] == [
        (f"integration:{demo_org}", "client.created", client_id),
        (f"integration:{demo_org}", "client.read", client_id)]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("cli.db*"))
    for key in (personal, integration):  # not in the database file nor its write-ahead log
        assert key.removeprefix("hw_").encode() not in stored
