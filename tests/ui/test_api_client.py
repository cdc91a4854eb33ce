"""The scripting API through `gradio_client`, against the app in a subprocess with accounts: the endpoint
list (named, no auto-generated names), calls that stand alone, and `examples/api_client.py`'s member and
visitor tours (every step as the role says)."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from bench.common import app_process
from core.auth import users as U
from core.store import StoreConfig, open_store
from tests.conftest import ROOT
from ui.api import PUBLIC

PASSWORDS = {"ann": "ann-password-1", "vic": "vic-password-1"}
ROLES = {"ann": "member", "vic": "visitor"}
# What Gradio names an event after when nobody did: its function (`/lambda`, `/do_refresh_14`), a number.
AUTO = re.compile(r"lambda|_\d+$|^/?(run|fn|handler|wrapper|inner|unnamed)$")


def example():
    spec = importlib.util.spec_from_file_location("api_client", ROOT / "examples" / "api_client.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-lab")
    store = open_store(StoreConfig(recordings_dir=tmp / "recordings"))
    for name, pw in PASSWORDS.items():
        U.create_user(store, name, ROLES[name], pw)
    store.close()
    with app_process("--no-model", folder=tmp, start_timeout=180) as (base, _):
        yield base


def test_endpoints_are_named_and_nothing_else_is_listed(lab):
    client = example().connect(lab, "vic", PASSWORDS["vic"])
    info = client.view_api(return_format="dict", print_info=False)
    named = sorted(info["named_endpoints"])
    assert named == sorted(f"/{n}" for n in PUBLIC)
    assert len(named) >= 8 and not info["unnamed_endpoints"]
    assert not [n for n in named if AUTO.search(n)]
    params = [p["parameter_name"] for ep in info["named_endpoints"].values() for p in ep["parameters"]]
    assert params and not [p for p in params if p is None or p.startswith("param_")]


def test_calls_stand_alone_and_the_example_tours_behave_per_role(lab):
    ex = example()
    steps = ex.member_tour(ex.connect(lab, "ann", PASSWORDS["ann"]), say=lambda _: None)
    assert [s for s in steps if not s.as_expected] == []
    assert {s.endpoint for s in steps if s.outcome == "ok"} >= {"record_start", "record_save", "open_episode",
                                                                "tag_episode", "list_episodes"}
    episode = next(int(re.search(r"'episode': (\d+)", s.detail)[1]) for s in steps if s.endpoint == "record_save")
    fresh = ex.connect(lab, "ann", PASSWORDS["ann"])  # a new session's first call: nothing called before it
    opened = fresh.predict(episode, api_name="/open_episode")
    assert opened["id"] == episode and opened["success"] is False  # the tour re-tagged it "failure"
    steps = ex.visitor_tour(ex.connect(lab, "vic", PASSWORDS["vic"]), say=lambda _: None)
    assert [s for s in steps if not s.as_expected] == []
    refused = {s.endpoint for s in steps if s.outcome == "refused"}
    assert refused == {"tag_episode", "record_start", "command", "start_job", "activate_adapter"}


def test_bad_values_get_the_reason_and_change_nothing(lab):
    from gradio_client.exceptions import AppError

    ann = example().connect(lab, "ann", PASSWORDS["ann"])
    before = ann.predict(api_name="/list_jobs")
    with pytest.raises(AppError, match="no episodes selected"):
        ann.predict("empty", 0, [], "", api_name="/start_job")
    with pytest.raises(AppError, match="unknown preset"):
        ann.predict("odd", 1, [], "fastest", api_name="/start_job")
    with pytest.raises(AppError, match="result must be one of"):
        ann.predict(1, "great", api_name="/tag_episode")
    with pytest.raises(AppError, match="Nothing is being recorded"):
        ann.predict(api_name="/record_discard")
    assert ann.predict(api_name="/list_jobs") == before


def test_without_a_login_nothing_is_served(lab):
    from gradio_client import Client

    with pytest.raises(Exception, match="401|sign in|Could not"):
        Client(lab, verbose=False).predict(api_name="/status")
