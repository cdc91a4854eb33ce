"""The closed loop with scripted 'models': executes parsed entries, retries malformed text then holds,
verifies subtasks, stops on takeover and on the time limit."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from core.control.autonomous import AutonomousRun, RunConfig, verifier_agreement
from core.control.loop import ControlLoop, LoopConfig
from core.control.policy import PolicyBase
from core.control.verify import sim_verify
from core.robot.sim import SimConfig, SimRobot
from core.teleop.base import SourceStatus
from core.types import Twist


def split(dx, dy, dz, cut=2.5):
    n = max(1, math.ceil(max(abs(dx), abs(dy), abs(dz)) / cut))
    return [(round(dx / n, 1), round(dy / n, 1), round(dz / n, 1))] * n


class GroundTruthPolicy(PolicyBase):
    """Writes the action language from simulator state (stands in for a trained model)."""

    name = "ground truth"

    def __init__(self, loop, obj="red block", malformed_first=0, done_answer=None):
        self.loop, self.obj = loop, obj
        self.malformed_left = malformed_first
        self.done_answer = done_answer
        self.calls = []

    def subtasks(self, image, instruction, on_text=None):
        self.calls.append("subtasks")
        return f"1. grasp the {self.obj}\n2. lift the {self.obj}"

    def plan(self, image, instruction, subtask, on_text=None):
        self.calls.append("plan")
        return "move over the block, then down" if subtask.startswith("grasp") else "move up"

    def actions(self, image, instruction, subtask, plan, on_text=None):
        self.calls.append("actions")
        if self.malformed_left > 0:
            self.malformed_left -= 1
            return "[[1.0, 2.0, oops]]"
        obs = self.loop.observation
        ee, blk = obs.ee_pos, obs.scene.get(self.obj).pos
        if subtask.startswith("grasp"):
            moves = split((blk[0] - ee[0]) * 100, (blk[1] - ee[1]) * 100, 0.0)
            moves += split(0.0, 0.0, (0.022 - ee[2]) * 100)
            return "[" + ", ".join(f"[{x}, {y}, {z}, 1]" for x, y, z in moves) + ", [0.0, 0.0, 0.0, 0]]"
        return "[[0.0, 0.0, 2.5, 0], [0.0, 0.0, 2.5, 0], [0.0, 0.0, 2.0, 0]]"

    def is_done(self, image, subtask):
        return self.done_answer


class Pad:
    name = "pad"

    def __init__(self):
        self.twist = Twist()

    def read(self):
        return self.twist

    def status(self):
        return SourceStatus(source="pad", state="connected")

    def sync_gripper(self, target):
        pass

    def close(self):
        pass


@pytest.fixture
def loop():
    lp = ControlLoop(lambda: SimRobot(SimConfig(image_size=64)), LoopConfig(hz=30))
    lp.pad = Pad()
    lp.add_source(lp.pad)
    lp.start(seed=0)
    yield lp
    lp.close()


def run(loop, policy, **cfg):
    r = AutonomousRun(policy, "pick up the red block", config=RunConfig(**cfg), judge=sim_verify).start()
    loop.set_driver(r)
    return r


def test_executes_parsed_entries_and_verifies(loop):
    r = run(loop, GroundTruthPolicy(loop, done_answer=True))
    assert r.wait(60)
    assert r.result == "success", [e.text for e in r.events]
    obs = loop.observation
    assert obs.scene.held == "red block" and obs.scene.get("red block").pos[2] > 0.07
    kinds = [e.kind for e in r.events]
    assert kinds[0] == "subtasks" and kinds.count("verify") == 2 and kinds[-1] == "done"
    assert kinds.index("actions") < kinds.index("verify")  # text shown before the robot moved
    assert verifier_agreement([r]) == 1.0


def test_malformed_output_is_retried_then_accepted(loop):
    r = run(loop, GroundTruthPolicy(loop, malformed_first=2), max_retries=2)
    assert r.wait(60)
    assert r.result == "success"
    malformed = [e for e in r.events if e.kind == "malformed"]
    assert len(malformed) == 2 and "oops" in malformed[0].data["output"]


def test_persistently_malformed_output_holds_and_says_why(loop):
    r = run(loop, GroundTruthPolicy(loop, malformed_first=99), max_retries=1)
    assert r.wait(30)
    assert r.result == "failed"
    assert "unusable" in r.events[-1].text
    pos = loop.observation.ee_pos
    time.sleep(0.3)
    assert loop.observation.ee_pos == pytest.approx(pos, abs=1e-3)  # holding
    assert loop.status().mode == "idle"


def test_operator_takeover_cancels_the_run(loop):
    r = run(loop, GroundTruthPolicy(loop))
    deadline = time.monotonic() + 20
    while r.state != "moving" and time.monotonic() < deadline:
        time.sleep(0.02)
    loop.pad.twist = Twist(dz=1.0)
    assert r.wait(10)
    assert r.result == "cancelled" and "takeover" in r.events[-1].text
    loop.pad.twist = Twist()


def test_time_limit_stops_the_run(loop):
    class Slow(GroundTruthPolicy):
        def plan(self, *a, **k):
            time.sleep(1.0)
            return super().plan(*a, **k)

    r = run(loop, Slow(loop), time_limit_s=0.5)
    assert r.wait(10)
    assert r.result == "cancelled" and "time limit" in r.events[-1].text


def test_a_subtask_that_never_completes_gives_up_after_max_cycles(loop):
    class Timid(GroundTruthPolicy):
        def actions(self, *a, **k):
            self.calls.append("actions")
            return "[[0.0, 0.0, 0.5, 1]]"  # valid, but never reaches the block

    policy = Timid(loop)
    r = run(loop, policy, max_cycles=3, max_retries=0)
    assert r.wait(60)
    assert r.result == "failed" and "after 3 cycles" in r.events[-1].text
    assert policy.calls.count("actions") == 3
    assert [e.kind for e in r.events].count("retry") == 2
    deadline = time.monotonic() + 2
    while loop.status().mode != "idle" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert loop.status().mode == "idle"  # the loop dropped the finished run and holds


def test_the_run_shows_the_model_the_camera_it_was_trained_on(loop):
    class Wrist(GroundTruthPolicy):
        camera = "wrist"

        def plan(self, image, *a, **k):
            imgs = self.loop.observation.images  # the newest frames (the fingers may still settle: compare)
            far = {cam: float(np.abs(image.astype(float) - imgs[cam].astype(float)).mean()) for cam in ("wrist", "front")}
            self.seen.append((far["wrist"] < far["front"], far["front"] == 0.0))
            return super().plan(image, *a, **k)

    policy = Wrist(loop, done_answer=True)
    policy.seen = []
    r = run(loop, policy)
    assert r.camera == "wrist"
    assert r.wait(60) and r.result == "success"
    assert policy.seen and all(w and not f for w, f in policy.seen)

    class Top(GroundTruthPolicy):
        camera = "top"

    r = run(loop, Top(loop))
    assert r.wait(10)
    assert r.result == "error" and "no camera 'top'" in r.events[-1].text


def test_a_policy_that_reads_the_robot_state_gets_the_live_state(loop):
    from core.language.prompts import state_text

    class Stateful(GroundTruthPolicy):
        def context(self, image, subtask, ee_pos, gripper, seen):  # an adapter trained with the robot's state
            return state_text(ee_pos, gripper)

        def plan(self, image, instruction, subtask, on_text=None, state=None):
            obs = self.loop.observation  # the robot holds still while the model thinks
            self.seen.append(("plan", state, state_text(obs.ee_pos, obs.gripper)))
            return super().plan(image, instruction, subtask, on_text)

        def actions(self, image, instruction, subtask, plan, on_text=None, state=None):
            self.seen.append(("actions", state, self.seen[-1][2]))
            return super().actions(image, instruction, subtask, plan, on_text)

        def is_done(self, image, subtask, state=None):
            self.seen.append(("done", state, None))
            return True

    policy = Stateful(loop)
    policy.seen = []
    r = run(loop, policy)
    assert r.wait(60) and r.result == "success", [e.text for e in r.events]
    plans = [(got, want) for kind, got, want in policy.seen if kind in ("plan", "actions")]
    assert len(plans) == 4 and all(got == want for got, want in plans)
    assert plans[0][0].endswith("open.") and plans[-1][0].endswith("closed.")  # lift: the block is held
    assert [got.startswith("Gripper: x ") for kind, got, _ in policy.seen if kind == "done"] == [True, True]
    shown = [e.data.get("state") for e in r.events if e.kind == "plan"]
    assert shown == [got for kind, got, _ in policy.seen if kind == "plan"]  # the chat shows what the model got


def test_a_chunk_past_the_workspace_limit_is_cut_and_said(loop):
    from core.control.follower import ChunkFollower
    from core.control.safety import Limits
    from core.language.spec import Chunk

    lim = Limits()
    f = ChunkFollower([Chunk(2.0, 0.0, 0.0, 1)] * 3, (lim.x[1] - 0.01, 0.0, 0.1), 0.0, 1.0, lim, 1 / 30)
    assert abs(f.cut_cm - 5.0) < 1e-6 and f.entries[-1].goal[0] == lim.x[1]  # 1 cm of 6 fits
    assert ChunkFollower([Chunk(2.0, 0.0, 0.0, 1)], (0.4, 0.0, 0.1), 0.0, 1.0, lim, 1 / 30).cut_cm == 0.0

    class Pusher(GroundTruthPolicy):
        def actions(self, image, instruction, subtask, plan, on_text=None):
            return "[[0.0, 0.0, -2.5, 1], [0.0, 0.0, -2.5, 1], [0.0, 0.0, -2.5, 1], [0.0, 0.0, -2.5, 1], " \
                   "[0.0, 0.0, -2.5, 1], [0.0, 0.0, -2.5, 1], [0.0, 0.0, -2.5, 1], [0.0, 0.0, -2.5, 1]]"

    r = run(loop, Pusher(loop), max_cycles=1)
    assert r.wait(60)
    limits = [e for e in r.events if e.kind == "limit"]
    assert limits and limits[0].data["cut_cm"] > 1.0 and "workspace limit" in limits[0].text
    kinds = [e.kind for e in r.events]
    assert kinds.index("actions") < kinds.index("limit") < kinds.index("verify")


def test_model_error_holds_and_reports(loop):
    class Broken(GroundTruthPolicy):
        def plan(self, *a, **k):
            raise RuntimeError("worker crashed")

    r = run(loop, Broken(loop))
    assert r.wait(10)
    assert r.result == "error" and "worker crashed" in r.events[-1].text
    assert loop.status().running


def test_empty_instruction_is_refused():
    with pytest.raises(ValueError):
        AutonomousRun(GroundTruthPolicy(None), "  ")


def test_a_policy_with_its_own_context_line_gets_it_per_subtask(loop):
    class Grounded(GroundTruthPolicy):
        def context(self, image, subtask, ee_pos, gripper, seen):
            assert image.ndim == 3
            seen.setdefault("calls", 0)
            seen["calls"] += 1  # the run keeps this memory from call to call
            self.memory = seen
            return f"Gripper {100 * ee_pos[2]:.1f} cm up; subtask {subtask}."

        def plan(self, image, instruction, subtask, on_text=None, state=None):
            self.seen.append((subtask, state))
            return super().plan(image, instruction, subtask, on_text)

        def actions(self, image, instruction, subtask, plan, on_text=None, state=None):
            return super().actions(image, instruction, subtask, plan, on_text)

        def is_done(self, image, subtask, state=None):
            self.seen.append((subtask, state))
            return True

    policy = Grounded(loop)
    policy.seen = []
    r = run(loop, policy)
    assert r.wait(60) and r.result == "success", [e.text for e in r.events]
    assert len(policy.seen) == 4
    assert all(state.endswith(f"subtask {sub}.") and state.startswith("Gripper ") for sub, state in policy.seen)
    assert [e.data.get("state") for e in r.events if e.kind == "plan"] == [policy.seen[0][1], policy.seen[2][1]]
    assert policy.memory["calls"] == 4  # one memory for the whole run


class Placer(GroundTruthPolicy):
    """Grasps the red block, then releases it `misses` times 12 cm beside the bowl before aiming right."""

    def __init__(self, loop, misses=1):
        super().__init__(loop)
        self.misses = misses

    def subtasks(self, image, instruction, on_text=None):
        return "1. grasp the red block\n2. place it in the bowl"

    def plan(self, image, instruction, subtask, on_text=None):
        return super().plan(image, instruction, subtask) if subtask.startswith("grasp") else "move over the bowl"

    def actions(self, image, instruction, subtask, plan, on_text=None):
        if subtask.startswith("grasp"):
            return super().actions(image, instruction, subtask, plan)
        obs = self.loop.observation
        ee, bowl = obs.ee_pos, obs.scene.get("bowl").pos
        off = 0.12 if self.misses > 0 else 0.0
        self.misses -= 1
        moves = split(0.0, 0.0, (0.12 - ee[2]) * 100) + split((bowl[0] + off - ee[0]) * 100, (bowl[1] - ee[1]) * 100, 0.0)
        moves += split(0.0, 0.0, -4.0)
        return "[" + ", ".join(f"[{x}, {y}, {z}, 0]" for x, y, z in moves) + ", [0.0, 0.0, 0.0, 1]]"


def test_a_release_that_misses_goes_back_to_the_grasp(loop):
    r = AutonomousRun(Placer(loop), "put the red block in the bowl", judge=sim_verify).start()
    loop.set_driver(r)
    assert r.wait(120)
    assert r.result == "success", [e.text for e in r.events]
    kinds = [e.kind for e in r.events]
    assert kinds.count("regrasp") == 1 and "back to 'grasp the red block'" in r.events[kinds.index("regrasp")].text
    assert [e.subtask for e in r.events if e.kind == "verify" and e.text.startswith("done")] == [
        "grasp the red block", "grasp the red block", "place it in the bowl"]


def test_regrasps_are_bounded(loop):
    r = AutonomousRun(Placer(loop, misses=5), "put the red block in the bowl", judge=sim_verify,
                      config=RunConfig(max_regrasps=1)).start()
    loop.set_driver(r)
    assert r.wait(120)
    assert r.result == "failed" and "missed" in r.events[-1].text
    assert [e.kind for e in r.events].count("regrasp") == 1


class Dropper(Placer):
    """Lets the block fall on the way to the bowl once (opens and closes again on nothing, so no release
    ends the chunk), then places it right."""

    def __init__(self, loop):
        super().__init__(loop, misses=0)
        self.dropped = False

    def actions(self, image, instruction, subtask, plan, on_text=None):
        if subtask.startswith("place") and not self.dropped:
            self.dropped = True
            return ("[[0.0, 0.0, 2.5, 0], [0.0, 0.0, 2.5, 0], [0.0, 0.0, 2.5, 0], [0.0, 0.0, 0.0, 1], [0.0, 0.0, 2.0, 1], "
                    "[0.0, 0.0, 0.0, 0]]")
        return super().actions(image, instruction, subtask, plan)


def test_a_block_lost_on_the_way_sends_the_loop_back_to_the_grasp(loop):
    r = AutonomousRun(Dropper(loop), "put the red block in the bowl", judge=sim_verify).start()
    loop.set_driver(r)
    assert r.wait(120)
    assert r.result == "success", [e.text for e in r.events]
    regrasps = [e.text for e in r.events if e.kind == "regrasp"]
    assert len(regrasps) == 1 and "back to 'grasp the red block'" in regrasps[0]
    # back at once: no cycle spent carrying nothing to the bowl between the drop and the regrasp
    kinds = [(e.kind, e.subtask) for e in r.events]
    before = kinds[:kinds.index(("regrasp", "place it in the bowl"))]
    assert before.count(("plan", "place it in the bowl")) == 1, [e.text for e in r.events]


def test_a_command_in_other_words_is_restated_before_the_subtasks(loop):
    class Restating(GroundTruthPolicy):
        def restate(self, instruction):
            self.calls.append(("restate", instruction))
            return "pick up the red block"

        def subtasks(self, image, instruction, on_text=None):
            self.calls.append(("subtasks", instruction))
            return super().subtasks(image, instruction, on_text)

    policy = Restating(loop, done_answer=True)
    r = AutonomousRun(policy, "recoge el bloque rojo", config=RunConfig(), judge=sim_verify).start()
    loop.set_driver(r)
    assert r.wait(60) and r.result == "success"
    assert policy.calls[:2] == [("restate", "recoge el bloque rojo"), ("subtasks", "pick up the red block")]
    first = r.events[0]
    assert first.kind == "restate" and first.text == "pick up the red block"
    assert first.data["command"] == "recoge el bloque rojo" and first.data["seconds"] >= 0


def test_a_restater_with_nothing_to_restate_leaves_the_command_as_typed(loop):
    class Canonical(GroundTruthPolicy):
        def restate(self, instruction):
            return None

        def subtasks(self, image, instruction, on_text=None):
            self.calls.append(("subtasks", instruction))
            return super().subtasks(image, instruction, on_text)

    policy = Canonical(loop, done_answer=True)
    r = run(loop, policy)
    assert r.wait(60) and r.result == "success"
    assert policy.calls[0] == ("subtasks", "pick up the red block")
    assert "restate" not in [e.kind for e in r.events]


class Understanding(GroundTruthPolicy):
    """A policy whose reader refuses, asks back or acts as scripted, from the scene it is given."""

    def __init__(self, loop, verdicts):
        super().__init__(loop, done_answer=True)
        self.verdicts, self.seen = verdicts, []

    def understand(self, instruction, present=None, pending=None):
        from core.language.restate import NONE_ANSWER
        from core.language.understand import decide

        self.seen.append((instruction, sorted(present or []), pending))
        best = self.verdicts[instruction]
        return decide(instruction, [(best, 0.0), (NONE_ANSWER if best != NONE_ANSWER else "pick up the red block", -99.0)],
                      present)

    def subtasks(self, image, instruction, on_text=None):
        self.calls.append(("subtasks", instruction))
        return super().subtasks(image, instruction, on_text)


def test_a_refused_command_ends_before_anything_moves_and_says_why(loop):
    from core.language.restate import NONE_ANSWER

    policy = Understanding(loop, {"wave hello to the visitors": NONE_ANSWER})
    before = loop.observation.ee_pos
    r = AutonomousRun(policy, "wave hello to the visitors", judge=sim_verify).start()
    loop.set_driver(r)
    assert r.wait(30) and r.result == "refused" and r.state == "refused"
    assert policy.calls == []  # no subtask, plan or action was asked for
    assert r.events[-1].kind == "refuse" and "not one of the tasks" in r.events[-1].text
    assert "red block" in policy.seen[0][1] and "bowl" in policy.seen[0][1]  # the simulator's scene was given
    time.sleep(0.2)
    assert loop.observation.ee_pos == pytest.approx(before, abs=1e-3)


def test_an_open_command_asks_back_and_the_answer_run_completes_it(loop):
    policy = Understanding(loop, {"pick up the block": "pick up the block", "the red one": "pick up the red block"})
    asked = AutonomousRun(policy, "pick up the block", judge=sim_verify).start()
    loop.set_driver(asked)
    assert asked.wait(30) and asked.result == "asked" and asked.understanding.kind == "pick"
    assert asked.events[-1].kind == "ask" and asked.events[-1].text.endswith("?")
    answer = AutonomousRun(policy, "the red one", judge=sim_verify, pending=asked.understanding).start()
    loop.set_driver(answer)
    assert answer.wait(60) and answer.result == "success", [e.text for e in answer.events]
    assert policy.seen[-1][2] is asked.understanding  # the reply was read with the pending question
    assert ("subtasks", "pick up the red block") in policy.calls
    assert answer.events[0].kind == "restate" and answer.events[0].text == "pick up the red block"


class Pusher(GroundTruthPolicy):
    """A push of the red block to the right: down beside it, then a push of `step_cm` per try; the first
    try then stalls (no motion), so the loop goes back to the approach and the second try pushes again."""

    def __init__(self, loop, step_cm):
        super().__init__(loop)
        self.step_cm, self.pushes = step_cm, 0

    def subtasks(self, image, instruction, on_text=None):
        return "1. move to the left of the red block\n2. push the red block to the right"

    def plan(self, image, instruction, subtask, on_text=None):
        return "move"

    def actions(self, image, instruction, subtask, plan, on_text=None):
        obs = self.loop.observation
        ee, blk = obs.ee_pos, obs.scene.get("red block").pos
        if subtask.startswith("move"):
            moves = split((blk[0] - ee[0]) * 100, (blk[1] + 0.04 - ee[1]) * 100, 0.0)
            moves += split(0.0, 0.0, (0.02 - ee[2]) * 100)
            return "[" + ", ".join(f"[{x}, {y}, {z}, 0]" for x, y, z in moves) + "]"
        self.pushes += 1  # a push on the first and on the fifth call (the retry's first), else nothing
        return f"[[0.0, -{self.step_cm}, 0.0, 0]]" if self.pushes in (1, 5) else "[[0.0, 0.0, 0.0, 0]]"


def test_a_push_tried_again_is_judged_from_where_its_first_try_began(loop):
    tries = []

    def judge(subtask, start, now, it):
        if subtask.startswith("move"):
            return None  # the approach: judged as executed
        if start is not now:  # not the check before anything moves
            tries.append(start.get("red block").pos[1] - now.get("red block").pos[1])
        return sim_verify(subtask, start, now, it)

    y0 = loop.observation.scene.get("red block").pos[1]
    r = AutonomousRun(Pusher(loop, 4.5), "push the red block to the right", judge=judge,
                      config=RunConfig(fresh_starts=0)).start()
    loop.set_driver(r)
    assert r.wait(120)
    texts = [e.text for e in r.events]
    assert sum("back to 'move to the left of the red block'" in t for t in texts) == 1, texts
    first = tries[0]  # after the first try's push
    second = (y0 - first) - loop.observation.scene.get("red block").pos[1]  # the second try's own way
    assert 0.01 < first < 0.05 and 0.01 < second < 0.05  # neither try alone pushed it the 5 cm a push needs
    assert y0 - loop.observation.scene.get("red block").pos[1] >= 0.05  # both together did
    assert r.result == "success", texts
