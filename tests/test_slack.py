"""Slack end to end: signed requests into the real /slack/events route, a fake Web API out.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.ledger import AccountKind, AccountRef

from .slack_harness import SlackWorld, slack_world
from .slack_requests import (
    FORM,
    event,
    multi_users_select,
    number_input,
    plain_text_input,
    reaction_added_event,
    slash_command,
    view_submission,
)


@pytest.fixture(params=["sqlite", "pg"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima", tz="Europe/Lisbon")
        built.api.add_user("U2", email="ben@example.com", real_name="Ben Weber", tz="Europe/Berlin")
        built.api.add_user(
            "U3", email="chloe@example.com", real_name="Chloé Martin", tz="Europe/Paris"
        )
        yield built


async def earned(world: SlackWorld, email: str) -> int:
    async with world.app.uow(readonly=True) as uow:
        person = await uow.people.by_email(email)
        assert person is not None
        return await uow.ledger.balance(AccountRef(AccountKind.EARNED, person.id))


async def recognitions(world: SlackWorld) -> int:
    async with world.app.engine.connect() as conn:
        from sqlalchemy import func, select

        from adapters.persistence.tables import recognitions as table

        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_slash_command_gives_replies_dms_and_announces(world: SlackWorld) -> None:
    url = world.api.response_url("r1")
    started = time.perf_counter()
    response = await world.post(
        slash_command("<@U2|ben> +10 shipped the release on time", response_url=url)
    )
    assert response.status == 200
    assert time.perf_counter() - started < 3

    reply = (await world.api.wait_for_response("r1"))[0]
    assert reply["response_type"] == "ephemeral"
    assert "You gave 10 points to Ben Weber." in reply["text"]
    await world.settle()
    assert await earned(world, "ben@example.com") == 10
    opened = world.api.calls_to("conversations.open")
    assert [c.args["users"] for c in opened] == ["U2"]
    posts = {c.args["channel"]: c.args for c in world.api.calls_to("chat.postMessage")}
    assert "Ana Lima gave you 10 points" in posts["DU2"]["text"]  # Ben's DM
    assert "<@U1>" in posts["C1"]["text"] and "<@U2>" in posts["C1"]["text"]  # announcement


async def test_bad_or_stale_signature_is_401_and_changes_nothing(world: SlackWorld) -> None:
    body, content_type = slash_command("<@U2|ben> +10 thanks for everything")
    forged = await world.http.post(
        "/slack/events",
        data=body.encode(),
        headers={
            "Content-Type": content_type,
            "X-Slack-Signature": "v0=" + "0" * 64,
            "X-Slack-Request-Timestamp": str(int(time.time())),
        },
    )
    stale = await world.post((body, content_type), timestamp=int(time.time()) - 600)
    unsigned = await world.http.post(
        "/slack/events", data=body.encode(), headers={"Content-Type": content_type}
    )
    assert (forged.status, stale.status, unsigned.status) == (401, 401, 401)
    await world.settle()
    assert world.api.calls == []
    assert await recognitions(world) == 0


async def test_signed_but_malformed_body_is_400(world: SlackWorld) -> None:
    json_reply = await world.post(("{not json", "application/json"))
    payload_reply = await world.post(("payload=%7Bbroken", FORM))
    assert (json_reply.status, payload_reply.status) == (400, 400)


async def test_retried_reaction_event_counts_once(world: SlackWorld) -> None:
    reaction = reaction_added_event("star", user_id="U1", item_user="U2")
    for retry in (None, 1, 2):
        response = await world.post(event(reaction, event_id="EvStar"), retry_num=retry)
        assert response.status == 200
    await world.settle()
    assert await earned(world, "ben@example.com") == 1
    assert await recognitions(world) == 1


async def test_reaction_removed_reverses_exactly_once(world: SlackWorld) -> None:
    added = reaction_added_event("star", user_id="U1", item_user="U2")
    removed = {**added, "type": "reaction_removed"}
    await world.post(event(added, event_id="EvAdd"))
    await world.settle()
    assert await earned(world, "ben@example.com") == 1
    for n in range(3):
        await world.post(event(removed, event_id=f"EvRemove{n}"))
    await world.settle()
    assert await earned(world, "ben@example.com") == 0
    await world.post(event(added, event_id="EvAddAgain"))  # re-adding cannot farm points
    await world.settle()
    assert await earned(world, "ben@example.com") == 0


async def test_reactions_to_yourself_or_a_bot_give_nothing(world: SlackWorld) -> None:
    world.api.add_user("UB", real_name="Deploy bot", is_bot=True)
    await world.post(
        event(reaction_added_event("star", user_id="U1", item_user="U1"), event_id="EvSelf")
    )
    await world.post(
        event(reaction_added_event("star", user_id="U1", item_user="UB"), event_id="EvBot")
    )
    await world.post(
        event(reaction_added_event("tada", user_id="U1", item_user="U2"), event_id="EvOther")
    )
    await world.settle()
    assert await recognitions(world) == 0


async def test_fifty_concurrent_commands_against_an_allowance_of_ten(world: SlackWorld) -> None:
    await world.policy(allowance=10)
    urls = [world.api.response_url(f"c{n}") for n in range(50)]
    responses = await asyncio.gather(
        *(
            world.post(slash_command("<@U2|ben> +1 thanks for the quick review", response_url=u))
            for u in urls
        )
    )
    assert all(r.status == 200 for r in responses)
    replies = [(await world.api.wait_for_response(f"c{n}"))[0]["text"] for n in range(50)]
    await world.settle()
    assert sum("You gave 1 point to Ben Weber." in r for r in replies) == 10
    assert sum("left to give this period" in r for r in replies) == 40
    assert await earned(world, "ben@example.com") == 10


async def test_rate_limited_dm_still_arrives(world: SlackWorld) -> None:
    world.api.fail("chat.postMessage", status=429, times=1, retry_after=0)
    await world.post(
        slash_command(
            "<@U2|ben> +5 thanks for the pairing session",
            response_url=world.api.response_url("r1"),
            channel_id="D_PRIVATE",
        )
    )
    await world.api.wait_for_response("r1")
    await world.settle()
    attempts = world.api.calls_to("chat.postMessage")
    assert [c.failed for c in attempts if c.args["channel"] == "DU2"] == [True, False]


async def test_user_groups_expand_to_their_members(world: SlackWorld) -> None:
    world.api.usergroups["S1"] = ["U2", "U3"]
    await world.post(
        slash_command(
            "<!subteam^S1|@design> +3 great design review",
            response_url=world.api.response_url("r1"),
        )
    )
    reply = (await world.api.wait_for_response("r1"))[0]
    assert "You gave 3 points each to Ben Weber and Chloé Martin." in reply["text"]
    await world.settle()
    assert await earned(world, "chloe@example.com") == 3


async def test_balance_and_errors_are_ephemeral_and_polite(world: SlackWorld) -> None:
    await world.post(
        slash_command("<@U1|ana> +5 I did great work", response_url=world.api.response_url("self"))
    )
    await world.post(slash_command("balance", response_url=world.api.response_url("bal")))
    await world.post(slash_command("frobnicate now", response_url=world.api.response_url("bad")))
    own = (await world.api.wait_for_response("self"))[0]
    balance = (await world.api.wait_for_response("bal"))[0]
    assert own["response_type"] == "ephemeral"
    assert "You can't give kudos to yourself." in own["text"]
    assert "Redeemable: 0 points" in balance["text"]
    assert "Left to give: 100 points of 100" in balance["text"]
    bad = (await world.api.wait_for_response("bad"))[0]
    assert bad["text"].startswith("Who is it for? Name someone")  # no mention: not a gift


async def test_modal_submission_with_errors_stays_open(world: SlackWorld) -> None:
    state = {
        "receivers": {"receivers": multi_users_select(["U2"])},
        "amount": {"amount": number_input("500")},
        "reason": {"reason": plain_text_input("for the great onboarding docs")},
    }
    refused = await world.post(view_submission("laurel_give_modal", state, view_id="V1"))
    assert refused.status == 200
    body = await refused.json()
    assert body["response_action"] == "errors"
    assert "between 1 and 100" in body["errors"]["amount"]

    state["amount"] = {"amount": number_input("7")}
    accepted = await world.post(view_submission("laurel_give_modal", state, view_id="V2"))
    assert accepted.status == 200 and await accepted.read() == b""
    again = await world.post(view_submission("laurel_give_modal", state, view_id="V2"))
    assert again.status == 200  # a double submit of the same view gives once
    await world.settle()
    assert await earned(world, "ben@example.com") == 7


VALIDATORS = Path(__file__).resolve().parents[2] / "shared" / "validators"


def assert_valid_blocks(payload: dict[str, object], surface: str, tmp_path: Path) -> None:
    """Slack's own SDK models (via the shared check_blocks.py) accept what laurel sends."""
    import json
    import subprocess
    import sys

    if not (VALIDATORS / "check_blocks.py").exists():
        pytest.skip("../shared/validators is not next to this checkout")
    path = tmp_path / f"{surface}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(VALIDATORS / "check_blocks.py"), "--surface", surface, str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_message_shortcut_opens_a_prefilled_modal(world: SlackWorld, tmp_path: Path) -> None:
    from .slack_requests import message_shortcut

    response = await world.post(
        message_shortcut(
            "laurel_give_kudos_message",
            {
                "type": "message",
                "user": "U2",
                "ts": "1700000005.000100",
                "text": "I fixed the build",
            },
        )
    )
    assert response.status == 200
    opened = (await world.api.wait_for("views.open"))[0].args
    view = opened["view"]
    assert view["callback_id"] == "laurel_give_modal"
    receivers = next(b for b in view["blocks"] if b["block_id"] == "receivers")
    reason = next(b for b in view["blocks"] if b["block_id"] == "reason")
    assert receivers["element"]["initial_users"] == ["U2"]
    assert reason["element"]["initial_value"].startswith("https://")
    assert_valid_blocks(view, "modal", tmp_path)


async def test_app_home_shows_balance_allowance_tier_and_a_button(
    world: SlackWorld, tmp_path: Path
) -> None:
    from .slack_requests import app_home_opened_event

    await world.post(
        slash_command(
            "<@U2|ben> +5 thanks for the careful review", response_url=world.api.response_url("r1")
        )
    )
    await world.api.wait_for_response("r1")
    await world.post(event(app_home_opened_event(user_id="U2"), event_id="EvHome"))
    published = (await world.api.wait_for("views.publish"))[0].args
    assert published["user_id"] == "U2"
    home = published["view"]
    texts = " ".join(str(b.get("text", "")) for b in home["blocks"])
    assert "Redeemable: 5 points" in texts
    assert "Left to give: 100 points of 100" in texts
    assert "Ana Lima gave you 5 points" in texts
    assert any(b["type"] == "actions" for b in home["blocks"])
    assert_valid_blocks(home, "home", tmp_path)


async def test_announcement_and_replies_are_valid_block_kit(
    world: SlackWorld, tmp_path: Path
) -> None:
    await world.post(
        slash_command(
            "<@U2|ben> +5 thanks for the careful review #craft",
            response_url=world.api.response_url("r1"),
        )
    )
    reply = (await world.api.wait_for_response("r1"))[0]
    assert_valid_blocks({"blocks": reply["blocks"]}, "message", tmp_path)
    await world.post(slash_command("leaderboard all", response_url=world.api.response_url("r2")))
    board = (await world.api.wait_for_response("r2"))[0]
    assert_valid_blocks({"blocks": board["blocks"]}, "message", tmp_path)
    await world.settle()
    for call in world.api.calls_to("chat.postMessage"):
        assert_valid_blocks({"blocks": call.args["blocks"]}, "message", tmp_path)


async def test_bot_joining_a_channel_introduces_itself_once(world: SlackWorld) -> None:
    joined = {
        "type": "member_joined_channel",
        "user": "UBOT",
        "channel": "C9",
        "channel_type": "C",
        "team": "T1",
    }
    someone = {**joined, "user": "U3"}
    await world.post(event(joined, event_id="EvJoin"))
    await world.post(event(joined, event_id="EvJoin"), retry_num=1)
    await world.post(event(someone, event_id="EvJoin2"))
    await world.settle()
    intros = [c for c in world.api.calls_to("chat.postMessage") if c.args["channel"] == "C9"]
    assert len(intros) == 1
    assert "Hi, I'm laurel." in intros[0].args["text"]


async def test_channel_named_values_and_escaped_text(world: SlackWorld) -> None:
    from core.commands import ConfigureOrganisation
    from core.policy import CompanyValue

    await world.app.bus.handle(
        ConfigureOrganisation(values=(CompanyValue(slug="ownership", name="Ownership"),))
    )
    await world.post(
        slash_command(
            "<@U2|ben> +2 fixed R&amp;D build &lt;3 <#C024BE7LR|ownership>",
            response_url=world.api.response_url("r1"),
        )
    )
    reply = (await world.api.wait_for_response("r1"))[0]
    assert "Values: #ownership" in reply["text"]
    async with world.app.uow(readonly=True) as uow:
        ben = await uow.people.by_email("ben@example.com")
        assert ben is not None
        [given] = await uow.recognitions.history(ben.id, limit=1)
    assert given.reason == "fixed R&D build <3"


async def test_a_failing_listener_answers_politely(world: SlackWorld) -> None:
    world.api.fail("users.info", status=200, times=1, error="fatal_error")
    await world.post(
        slash_command(
            "<@U2|ben> +5 thanks for the careful review",
            user_id="U9",
            response_url=world.api.response_url("r1"),
        )
    )
    reply = (await world.api.wait_for_response("r1"))[0]
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == (
        "Sorry, something went wrong on our side. Nothing was changed; please try again."
    )
    assert await recognitions(world) == 0


async def test_healthz_answers(world: SlackWorld) -> None:
    response = await world.http.get("/healthz")
    assert response.status == 200 and await response.json() == {"status": "ok"}
    metrics = await (await world.http.get("/metrics")).text()
    assert "laurel_http_requests_total" in metrics


@pytest.fixture(params=["sqlite", "pg"])
async def decision_world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SlackWorld, list[str]]]:
    from core.decisions import Decision
    from core.ports import UnitOfWork

    applied: list[str] = []

    async def effect(uow: UnitOfWork, decision: Decision) -> None:
        applied.append(decision.key)

    async with slack_world(request.param, tmp_path, effects={"test": effect}) as built:
        built.api.add_user(
            "U1", email="maria@example.com", real_name="Maria Rossi", tz="Europe/Rome"
        )
        built.api.add_user("U2", email="omar@example.com", real_name="Omar Haddad", tz="Asia/Dubai")
        yield built, applied


async def test_decision_buttons_decide_once_and_say_who(
    decision_world: tuple[SlackWorld, list[str]], tmp_path: Path
) -> None:
    from adapters.i18n import Renderer
    from adapters.slack.blocks import decision_actions
    from core.commands import OpenDecision

    from .slack_requests import block_actions

    world, applied = decision_world
    decision = await world.app.bus.handle(OpenDecision(key="dec-1", kind="test", subject="42"))
    actions = decision_actions(decision, Renderer("en"))
    assert [b["text"]["text"] for b in actions["elements"]] == ["Approve", "Decline"]
    message = {
        "type": "message",
        "ts": "1700000009.000100",
        "user": "UBOT",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Gift card?"}}, actions],
    }
    assert_valid_blocks({"blocks": message["blocks"]}, "message", tmp_path)

    clicks = [
        block_actions(
            "laurel_decide:approve",
            "dec-1",
            user_id="U1",
            message=message,
            response_url=world.api.response_url("maria"),
        ),
        block_actions(
            "laurel_decide:approve",
            "dec-1",
            user_id="U2",
            message=message,
            response_url=world.api.response_url("omar"),
        ),
    ]
    replies = await asyncio.gather(*(world.post(c) for c in clicks))
    assert [r.status for r in replies] == [200, 200]
    first = (await world.api.wait_for_response("maria"))[0]
    second = (await world.api.wait_for_response("omar"))[0]
    winner, loser = (first, second) if first.get("replace_original") else (second, first)
    assert winner["replace_original"] is True
    assert not any(b["type"] == "actions" for b in winner["blocks"])
    assert winner["text"].startswith(("Approved by Maria Rossi on", "Approved by Omar Haddad on"))
    assert loser["response_type"] == "ephemeral" and loser["replace_original"] is False
    assert loser["text"].startswith("Already decided by")
    assert applied == ["dec-1"]


async def test_decline_asks_for_a_reason_in_a_modal_then_decides(
    decision_world: tuple[SlackWorld, list[str]], tmp_path: Path
) -> None:
    import json as json_

    from adapters.i18n import Renderer
    from adapters.slack.blocks import decision_actions
    from adapters.slack.decisions import DECLINE_MODAL
    from core.commands import OpenDecision

    from .slack_requests import block_actions, plain_text_input, view_submission

    world, applied = decision_world
    decision = await world.app.bus.handle(OpenDecision(key="dec-1", kind="test", subject="42"))
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Gift card?"}},
        decision_actions(decision, Renderer("en")),
    ]
    message = {"type": "message", "ts": "1700000009.000100", "user": "UBOT", "blocks": blocks}
    url = world.api.response_url("omar")
    await world.post(
        block_actions(
            "laurel_decide:decline", "dec-1", user_id="U2", message=message, response_url=url
        )
    )
    opened = (await world.api.wait_for("views.open"))[0].args["view"]
    assert opened["callback_id"] == DECLINE_MODAL
    assert_valid_blocks({"blocks": opened["blocks"]}, "modal", tmp_path)
    assert applied == []  # nothing is decided before the reason's modal is submitted
    submit = view_submission(
        DECLINE_MODAL,
        {"note": {"note": plain_text_input("not this quarter")}},
        user_id="U2",
        private_metadata=opened["private_metadata"],
    )
    answer = await world.post(submit)
    assert answer.status == 200
    rewritten = (await world.api.wait_for_response("omar"))[0]
    assert rewritten["replace_original"] is True
    assert rewritten["text"].startswith("Declined by Omar Haddad")
    assert rewritten["blocks"][0]["text"]["text"] == "Gift card?"
    async with world.app.uow(readonly=True) as uow:
        decided = await uow.decisions.get("dec-1")
    assert decided is not None and decided.note == "not this quarter" and applied == ["dec-1"]
    # Submitting again (a second tab) is told, in the modal, that it is decided.
    again = await world.post(submit)
    errors = json_.loads(await again.text())
    assert errors["response_action"] == "errors" and "Already decided" in errors["errors"]["note"]


async def test_a_failing_event_listener_apologises_to_the_person(world: SlackWorld) -> None:
    world.api.fail("chat.getPermalink", status=200, times=1, error="fatal_error")
    await world.post(
        event(reaction_added_event("star", user_id="U1", item_user="U2"), event_id="EvFail")
    )
    sorry = await world.api.wait_for("chat.postEphemeral")
    assert sorry[0].args["user"] == "U1"
    assert sorry[0].args["text"].startswith("Sorry, something went wrong on our side.")
    assert await recognitions(world) == 0


async def test_deleting_a_message_changes_nothing(world: SlackWorld) -> None:
    await world.post(
        event(
            reaction_added_event("star", user_id="U1", item_user="U2", item_ts="1700000007.000100"),
            event_id="EvA",
        )
    )
    await world.settle()
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "C1",
        "deleted_ts": "1700000007.000100",
        "ts": "1700000008.000100",
        "hidden": True,
        "previous_message": {"type": "message", "user": "U2", "ts": "1700000007.000100"},
    }
    await world.post(event(deleted, event_id="EvDeleted"))
    await world.settle()
    assert await earned(world, "ben@example.com") == 1
    assert await recognitions(world) == 1


async def test_a_language_choice_is_kept_for_the_next_command(world: SlackWorld) -> None:
    await world.post(slash_command("lang de", response_url=world.api.response_url("lang")))
    changed = (await world.api.wait_for_response("lang"))[0]
    assert changed["text"] == "Sprache auf Deutsch umgestellt."
    await world.post(slash_command("balance", response_url=world.api.response_url("bal")))
    balance = (await world.api.wait_for_response("bal"))[0]
    assert "Einlösbar: 0 Punkte" in balance["text"]
