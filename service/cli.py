"""The `homework` command: thin commands over the same services the API uses."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import re
import sys

from sqlalchemy import select

from service import audit, clients
from service.auth import credentials
from service.auth.principal import Principal
from service.config import get_settings
from service.db import transaction
from service.errors import DomainError, Invalid
from service.models import Clinician, Organisation
from service.worksheet import Preferences


def migrate(_: argparse.Namespace) -> None:
    from alembic.config import Config

    from alembic import command
    from service.config import ROOT
    from service.workflow import queue

    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    settings = get_settings()
    if queue.uses_queue(settings):
        created = queue.apply_schema(settings.database_url)
        print("job queue schema " + ("created" if created else "already present"))
    print("database migrated")


def _organisation(session: object, name: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name == name))  # type: ignore[attr-defined]
    return org or credentials.create_organisation(session, name=name)  # type: ignore[arg-type]


def _prompted_password() -> str:
    """Asked for twice without echo, so it stays out of the shell history and `ps`."""
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != password:
        raise Invalid("the passwords do not match; nothing was created")
    return password


def create_clinician(args: argparse.Namespace) -> None:
    password = args.password if args.password is not None else _prompted_password()
    with transaction() as session:
        org = _organisation(session, args.organisation)
        clinician = credentials.create_clinician(session, organisation_id=org.id,
                                                 email=args.email, name=args.name,
                                                 password=password)
        print(f"clinician {clinician.email} created in {org.name}")


def demo(_: argparse.Namespace) -> None:
    """Create the demo clinician and one (fictional) client once, and print the login, so a
    fresh `make run` can go straight to a first draft."""
    email, password = "demo@example.org", "demo-password-123"
    with transaction() as session:
        clinician = session.scalar(select(Clinician).where(Clinician.email == email))
        if clinician is None:
            org = _organisation(session, "Demo practice")
            clinician = credentials.create_clinician(
                session, organisation_id=org.id, email=email, name="Demo Clinician",
                password=password)
        as_clinician = Principal(clinician.organisation_id, clinician.id, "clinician")
        clients.upsert_client(session, as_clinician, external_id="DEMO-1", name="Sam Demo")
    print(f"demo clinician login: {email} / {password}  (http://127.0.0.1:8000/login)")
    print("demo client: Sam Demo (fictional)")


def create_api_key(args: argparse.Namespace) -> None:
    with transaction() as session:
        if args.clinician:
            clinician = session.scalar(select(Clinician).where(Clinician.email == args.clinician))
            if clinician is None:
                raise DomainError(f"no clinician {args.clinician}")
            org_id, clinician_id = clinician.organisation_id, clinician.id
        else:
            org_id, clinician_id = _organisation(session, args.organisation).id, None
        print(credentials.create_api_key(session, organisation_id=org_id, name=args.name,
                                         clinician_id=clinician_id))


def draft(args: argparse.Namespace) -> None:
    from service.catalog import get_template
    from service.clock import today
    from service.drafting import draft_worksheet
    from service.selection import rank_templates

    if not args.request.strip():  # the API refuses an empty request (422) too
        raise Invalid('the request is empty; describe the homework in plain words, '
                      'e.g. homework draft "a short walk after breakfast"')
    candidates = rank_templates(args.request)
    template = get_template(candidates[0].template_id)
    identifiers = [args.client] if args.client else []
    outcome = asyncio.run(draft_worksheet(
        request_text=args.request, template=template, preferences=Preferences(),
        review_date=today() + dt.timedelta(days=7), today=today(), identifiers=identifiers,
        settings=get_settings()))
    result = {
        "template_id": template.id, "candidates": [c.model_dump() for c in candidates],
        "worksheet": outcome.worksheet.model_dump(mode="json") if outcome.worksheet else None,
        "findings": [f.model_dump(mode="json") for f in outcome.findings],
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(f"template: {template.id} ({template.name})  drafter: {outcome.drafter}")
    for key, value in (outcome.worksheet.model_dump(mode="json") if outcome.worksheet
                       else {}).items():
        print(f"  {key}: {value}")
    for f in outcome.findings:
        print(f"  [{f.severity}] {f.code} ({f.field}): {f.message}")
    if outcome.error:
        print(f"error: {outcome.error}")


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    if args.workers > 1 and get_settings().database_url.startswith("sqlite"):
        # The audit chain's append (read the newest hash, then link to it) is serialised by
        # a lock inside one process; two processes on one SQLite file could fork the chain.
        raise SystemExit("homework: SQLite serves from one process; for --workers above 1 "
                         "use PostgreSQL (HOMEWORK_DATABASE_URL=postgresql+psycopg://...)")

    uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False)


def worker(args: argparse.Namespace) -> None:
    """A standalone queue worker (PostgreSQL): runs background drafts until SIGTERM/ctrl-c."""
    from service.workflow import queue

    settings = get_settings()
    if not queue.uses_queue(settings):
        raise DomainError("the job queue needs PostgreSQL (HOMEWORK_DATABASE_URL); "
                          "on SQLite `homework serve` drafts in-process")
    concurrency = args.concurrency or settings.queue_concurrency or 20
    asyncio.run(queue.run_worker(settings, concurrency=concurrency))


def _day(text: str) -> dt.datetime:
    """A date (or date-time) argument, read as UTC; a clear message instead of a traceback."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{text!r} is not a date; use YYYY-MM-DD") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def audit_list(args: argparse.Namespace) -> None:
    """One line per event: when, who, what, which object and client; never PHI content."""
    until = _day(args.until) + dt.timedelta(days=1) if args.until else None
    with transaction() as session:
        events = audit.list_events(session, client_id=args.client, actor=args.actor,
                                   since=_day(args.since) if args.since else None,
                                   until=until, limit=args.limit)
        for e in events:
            print(f"{e.at.isoformat(timespec='seconds')}  {e.actor}  {e.action}  "
                  f"{e.object_type}:{e.object_id}  client={e.client_id or '-'}  "
                  f"org={e.organisation_id or '-'}")
    print(f"{len(events)} event(s)", file=sys.stderr)


def audit_command(args: argparse.Namespace) -> None:
    {"list": audit_list, "verify": audit_verify, "head": audit_head}[args.action](args)


def audit_head(_: argparse.Namespace) -> None:
    """Print the chain's head, to be stored elsewhere and passed to `verify --anchor`."""
    with transaction() as session:
        print(audit.head(session) or "the audit log is empty")


def audit_verify(args: argparse.Namespace) -> None:
    if args.anchor is not None and not re.fullmatch(r"\d+:[0-9a-f]{64}", args.anchor):
        raise DomainError("--anchor takes the `id:hash` that `homework audit head` printed")
    with transaction() as session:
        problems = audit.verify(session, anchor=args.anchor)
    for problem in problems:
        print(problem)
    if problems:
        raise SystemExit(1)
    print("audit log intact")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homework")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve the API and review screen")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=migrate)
    p = sub.add_parser("worker", help="run a job-queue worker (PostgreSQL)")
    p.add_argument("--concurrency", type=int, default=0,
                   help="jobs run at once (default: HOMEWORK_QUEUE_CONCURRENCY or 20)")
    p.set_defaults(func=worker)
    sub.add_parser("demo", help="create the demo clinician").set_defaults(func=demo)
    p = sub.add_parser("create-clinician", help="create a clinician who can sign in",
                       description="Create a clinician login. Without --password the "
                       "password is prompted for (twice, not echoed), which keeps it out "
                       "of the shell history.")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--password", help="for scripts only: a password given here stays in "
                   "the shell history; omit it to be prompted for it")
    p.add_argument("--organisation", default="Demo practice")
    p.set_defaults(func=create_clinician)
    p = sub.add_parser("create-api-key", help="prints the new key (shown once)")
    p.add_argument("--name", default="integration")
    p.add_argument("--organisation", default="Demo practice")
    p.add_argument("--clinician", help="email: a personal key that may approve")
    p.set_defaults(func=create_api_key)
    p = sub.add_parser("draft", help="draft a worksheet from a plain-language request")
    p.add_argument("request")
    p.add_argument("--client")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=draft)
    p = sub.add_parser("audit", help="audit log tools")
    p.add_argument("action", choices=["verify", "list", "head"],
                   help="verify the hash chain, list events (filters below), or print the "
                   "chain's head to keep elsewhere")
    p.add_argument("--anchor", help="verify: an earlier `audit head` (id:hash) that must "
                   "still be in the chain")
    p.add_argument("--client", type=int, help="list: events about this client id")
    p.add_argument("--actor", help="list: events by this actor (e.g. clinician:3, integration:1)")
    p.add_argument("--since", help="list: from this date (YYYY-MM-DD, UTC)")
    p.add_argument("--until", help="list: up to and including this date")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=audit_command)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except DomainError as exc:
        print(f"homework: {exc.detail}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
