"""litellm makes no call of its own: checked in a fresh interpreter, where nothing set the
cost-map variable beforehand (tests/conftest.py sets it for the test process, which would
hide a service that forgot to), with every socket connection and DNS lookup refused and
recorded. One draft call per path (primary, and the fallback Router) runs against respx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from service.config import ROOT

_PROBE = textwrap.dedent('''
    import json, socket, sys

    attempts = []

    def _refuse(kind):
        def refuse(*args, **kwargs):
            attempts.append([kind, repr(args[1:] if kind.startswith("connect") else args)])
            raise OSError("network blocked by the isolation test")
        return refuse

    socket.socket.connect = _refuse("connect")
    socket.socket.connect_ex = _refuse("connect_ex")
    socket.getaddrinfo = _refuse("getaddrinfo")
    socket.create_connection = _refuse("create_connection")

    import os
    assert "LITELLM_LOCAL_MODEL_COST_MAP" not in os.environ
    order = sys.argv[1]
    if order == "app-first":
        import service.app
        service.app.create_app()
    import service.drafting.llm as llm
    if order == "llm-first":
        import service.app
        service.app.create_app()
    after_import = list(attempts)

    import asyncio
    import httpx, litellm, respx
    from service.config import Settings

    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "{}"}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    base = "http://llm.test/v1"
    secret = "CANARY-MESSAGE-CONTENT"
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(base + "/chat/completions").mock(return_value=httpx.Response(200, json=body))
        for fallback in (None, "openai/other-model"):
            settings = Settings(llm_model="openai/test-model", llm_api_base=base,
                                llm_fallback_model=fallback, llm_max_retries=0)
            asyncio.run(llm.complete([{"role": "user", "content": secret}], settings=settings))

    names = ["callbacks", "success_callback", "failure_callback", "input_callback",
             "service_callback", "audit_log_callbacks", "_async_success_callback",
             "_async_failure_callback", "_async_input_callback"]
    print(json.dumps({
        "after_import": after_import, "attempts": attempts,
        "cost_map_env": os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"),
        "callbacks": {n: [repr(c) for c in getattr(litellm, n, None) or []] for n in names},
        "missing": [n for n in names[:3] if not hasattr(litellm, n)],
        "telemetry": getattr(litellm, "telemetry", None),
        "telemetry_modules": [m for m in sys.modules if m.startswith("litellm.telemetry")],
        "turn_off_message_logging": litellm.turn_off_message_logging,
    }))
''')


@pytest.mark.parametrize("order", ["app-first", "llm-first"])
def test_litellm_makes_no_call_of_its_own(order: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items()
           if k != "LITELLM_LOCAL_MODEL_COST_MAP" and not k.startswith("HOMEWORK_")}
    env["HOMEWORK_DATABASE_URL"] = f"sqlite:///{tmp_path / 'isolation.db'}"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", _PROBE, order], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["after_import"] == [], report["after_import"]  # no cost-map fetch at import
    assert report["attempts"] == [], report["attempts"]  # nor during a call, on either path
    assert report["cost_map_env"] == "True"  # the service set it itself
    assert report["missing"] == []  # litellm still has these lists, so "empty" means something
    assert report["callbacks"] == {name: [] for name in report["callbacks"]}
    assert report["telemetry"] is False and report["telemetry_modules"] == []
    assert report["turn_off_message_logging"] is True
    assert "CANARY-MESSAGE-CONTENT" not in done.stdout + done.stderr  # nothing logged it
