"""Drive VLM2VLA Studio from a script with `gradio_client`, as a lab member or as a visitor.

    python examples/api_client.py --url http://127.0.0.1:7860 --user ann            # password: asked, or
    VLM2VLA_PASSWORD=... python examples/api_client.py --url ... --user vic --as visitor

A lab with accounts: `Client(url, auth=(user, password))` signs in through the login form like the page
does and sends the session cookie with every call (a script sends no `Origin` header, so the cross-site
check lets it through; the cookie is what counts). An open lab (no accounts): leave out `--user`.
The endpoints and what each role may call: docs/api.md. Every call stands alone: no call needs an earlier
one in the same session.

The member's tour records a short episode, saves it tagged, reads it back with its verbalization, re-tags
it and lists jobs and adapters. The visitor's tour reads the same lists, then tries to record, command,
tag and train and is refused each time. Each step prints one line; the exit code is 1 if any step did
not go as its role says (a visitor allowed to record, a member refused).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Step:
    endpoint: str
    expected: str  # "ok" | "refused"
    outcome: str  # "ok" | "refused"
    detail: str

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.expected

    def line(self) -> str:
        mark = "as expected" if self.as_expected else f"UNEXPECTED (expected {self.expected})"
        return f"{self.endpoint:18} {self.outcome:8} {mark:12} {self.detail[:110]}"


def connect(url: str, user: str | None = None, password: str | None = None) -> Any:
    """A `gradio_client.Client` signed in as `user` (None: an open lab, no login)."""
    from gradio_client import Client

    return Client(url, auth=(user, password or "") if user else None, verbose=False)


def call(client: Any, endpoint: str, *args: Any, expected: str = "ok") -> tuple[Step, Any]:
    """Call one endpoint; a refusal or an error from the app is an outcome, not an exception."""
    from gradio_client.exceptions import AppError

    try:
        result = client.predict(*args, api_name=f"/{endpoint}")
    except AppError as exc:
        return Step(endpoint, expected, "refused", str(exc)), None
    return Step(endpoint, expected, "ok", repr(result)), result


def _runner(client: Any, steps: list[Step], say: Callable[[str], None]) -> Callable[..., Any]:
    """`run(endpoint, *args, expected=...)`: one call, its step kept in `steps` and printed with `say`."""

    def run(endpoint: str, *args: Any, expected: str = "ok") -> Any:
        step, result = call(client, endpoint, *args, expected=expected)
        steps.append(step)
        say(step.line())
        return result

    return run


def member_tour(client: Any, say: Callable[[str], None] = print) -> list[Step]:
    steps: list[Step] = []
    run = _runner(client, steps, say)
    run("status")
    started = run("record_start", "put the red block in the bowl")
    if started:
        time.sleep(1.0)  # about 30 steps at the loop's 30 Hz
        saved = run("record_save", "success")
        episode = saved["episode"] if saved else started["episode"]
        opened = run("open_episode", episode)
        if opened:
            say(f"  episode {episode}: {opened['num_steps']} steps, {len(opened['verbalization']['subtasks'])} subtasks")
        run("tag_episode", episode, "failure")
    run("list_episodes", "any", "", 10)
    run("list_jobs")
    run("list_adapters")
    run("open_episode", 999_999, expected="refused")  # no such episode: a clear error
    return steps


def visitor_tour(client: Any, say: Callable[[str], None] = print) -> list[Step]:
    steps: list[Step] = []
    run = _runner(client, steps, say)
    run("status")
    listed = run("list_episodes", "any", "", 10)
    if listed:
        run("open_episode", listed[0]["id"])
        run("tag_episode", listed[0]["id"], "success", expected="refused")
    run("list_adapters")
    run("stop")  # everyone may stop the robot
    run("record_start", "put the red block in the bowl", expected="refused")
    run("command", "put the red block in the bowl", expected="refused")
    run("start_job", "visitor-job", 5, [], "", expected="refused")
    run("activate_adapter", "", expected="refused")
    return steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--user", default=None, help="account name (none: an open lab)")
    ap.add_argument("--as", dest="role", choices=("member", "visitor"), default="member",
                    help="which tour to run (what the account's role should allow)")
    args = ap.parse_args(argv)
    password = None
    if args.user:
        password = os.environ.get("VLM2VLA_PASSWORD") or getpass.getpass(f"password for {args.user}: ")
    client = connect(args.url, args.user, password)
    steps = (member_tour if args.role == "member" else visitor_tour)(client)
    bad = [s for s in steps if not s.as_expected]
    print(f"{len(steps) - len(bad)}/{len(steps)} calls went as a {args.role} expects")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
