"""`/kudos-admin` through the real Slack route: a preview with Confirm / Cancel, the
click that applies it once, refusals for non-admins (audited, nothing changed), the
audit log and allowances in chat, an export delivered as a file in the DM, stats with
a chart; on both engines."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.commands import GiveKudos, SyncDirectory
from core.directory import DirectoryRecord
from core.people import Role

from .slack_harness import SlackWorld, slack_world
from .slack_requests import block_actions, slash_command
from .test_slack import assert_valid_blocks


async def hr(world: SlackWorld) -> None:
    """Hana runs HR; Ana (Engineering) and Ben work with her."""
    await world.app.bus.handle(
        SyncDirectory(
            source="csv",
            records=(
                DirectoryRecord(
                    email="hana@example.com", display_name="Hana Ruiz", department="People"
                ),
                DirectoryRecord(
                    email="ana@example.com", display_name="Ana Lima", department="Engineering"
                ),
                DirectoryRecord(
                    email="ben@example.com", display_name="Ben Okafor", department="Engineering"
                ),
            ),
        )
    )
    async with world.app.uow() as uow:
        hana = await uow.people.by_email("hana@example.com")
        await uow.people.set_roles(hana.id, hana.roles | {Role.HR_ADMIN})
        await uow.commit()


@pytest.fixture(params=["sqlite", "pg"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path) as built:
        built.api.add_user("UH", email="hana@example.com", real_name="Hana Ruiz")
        built.api.add_user("UA", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("UB", email="ben@example.com", real_name="Ben Okafor")
        await hr(built)
        yield built


async def admin(world: SlackWorld, line: str, user: str = "UH", name: str = "r") -> Any:
    url = world.api.response_url(name)
    await world.post(slash_command(line, user_id=user, command="/kudos-admin", response_url=url))
    return (await world.api.wait_for_response(name))[0]


async def policy(world: SlackWorld) -> Any:
    async with world.app.uow(readonly=True) as uow:
        return (await uow.config.load()).policy


async def actions_of(world: SlackWorld) -> list[str]:
    async with world.app.uow(readonly=True) as uow:
        return [r.entry.action for r in await uow.audit.since(None, limit=50)]


async def click(world: SlackWorld, answer: Any, action: str, user: str, name: str) -> Any:
    buttons = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"]
    button = next(e for e in buttons if e["action_id"] == action)
    url = world.api.response_url(name)
    await world.post(
        block_actions(action, button["value"], user_id=user, ephemeral=True, response_url=url)
    )
    return (await world.api.wait_for_response(name))[0]


async def test_a_preview_is_applied_once_on_confirm(world: SlackWorld, tmp_path: Path) -> None:
    preview = await admin(world, "limits daily 30")
    assert preview["response_type"] == "ephemeral"
    assert "Daily giving limit: none → 30" in preview["text"]
    assert_valid_blocks({"blocks": preview["blocks"]}, "message", tmp_path)
    assert (await policy(world)).daily_limit == 0
    done = await click(world, preview, "laurel_decide:confirm", "UH", "c1")
    assert done["replace_original"] and done["text"].startswith("Confirmed by Hana Ruiz")
    again = await click(world, preview, "laurel_decide:confirm", "UH", "c2")
    assert again["text"].startswith("Already decided by Hana Ruiz")
    assert (await policy(world)).daily_limit == 30
    assert (await actions_of(world)).count("limits.set") == 1


async def test_cancel_and_someone_elses_click_change_nothing(world: SlackWorld) -> None:
    preview = await admin(world, "budget dept:Engineering 150 month")
    assert (
        "Allowance for department Engineering" in preview["text"]
        and "People affected: 2" in preview["text"]
    )
    refused = await click(world, preview, "laurel_decide:confirm", "UA", "x")
    assert "Only the person who asked for this change" in refused["text"]
    cancelled = await click(world, preview, "laurel_decide:cancel", "UH", "y")
    assert cancelled["text"].startswith("Cancelled by Hana Ruiz")
    async with world.app.uow(readonly=True) as uow:
        assert (await uow.config.load()).rules == []


async def test_non_admins_are_refused_politely_and_audited(world: SlackWorld) -> None:
    for line in ("limits daily 1", "audit", "export people", "roles grant <@UA|ana> hr_admin"):
        refused = await admin(world, line, user="UA", name=line)
        assert refused["text"] == "Sorry, only HR admins can do that. Nothing was changed."
    assert (await actions_of(world)).count("admin.refused") == 4
    assert (await policy(world)).daily_limit == 0
    assert not world.api.uploads


async def test_a_person_is_named_by_mention_and_the_audit_log_is_shown(world: SlackWorld) -> None:
    preview = await admin(world, "roles grant <@UA|ana> finance")
    assert "Roles of Ana Lima: none → finance" in preview["text"]
    await click(world, preview, "laurel_decide:confirm", "UH", "ok")
    log = await admin(world, "audit", name="log")
    assert "Hana Ruiz · role.grant person:" in log["text"] and "(slack)" in log["text"]
    shown = await admin(world, "budget show <@UA|ana>", name="show")
    assert "Ana Lima: 100 points per month, 100 points left in this period" in shown["text"]
    wrong = await admin(world, "budget dept:Engineering lots", name="bad")
    assert wrong["text"].startswith("That admin command needs another shape: budget @person")


async def test_an_export_arrives_as_a_file_in_the_dm(world: SlackWorld) -> None:
    async with world.app.uow(readonly=True) as uow:
        hana = await uow.people.by_email("hana@example.com")
        ana = await uow.people.by_email("ana@example.com")
    await world.app.bus.handle(
        GiveKudos(giver_id=hana.id, receiver_ids=(ana.id,), amount=5, reason="=HYPERLINK(evil)")
    )
    started = await admin(world, "export recognitions")
    assert "Preparing the export of recognitions" in started["text"]
    await world.settle()
    [upload] = world.api.uploads.values()
    rows = list(csv.DictReader(io.StringIO(upload.decode())))
    assert len(rows) == 1 and rows[0]["reason"].startswith("'=")  # inert in a spreadsheet
    done = world.api.calls_to("files.completeUploadExternal")[0].args
    assert done["channel_id"].startswith("D") and "1 rows" in done["initial_comment"]
    assert "export.recognitions" in await actions_of(world)


async def test_stats_come_with_a_chart(world: SlackWorld, tmp_path: Path) -> None:
    async with world.app.uow(readonly=True) as uow:
        hana = await uow.people.by_email("hana@example.com")
        ana = await uow.people.by_email("ana@example.com")
    await world.app.bus.handle(
        GiveKudos(giver_id=hana.id, receiver_ids=(ana.id,), amount=5, reason="for the launch")
    )
    stats = await admin(world, "stats month")
    image = next(b for b in stats["blocks"] if b["type"] == "image")
    assert image["slack_file"]["id"] in world.api.uploads or image["slack_file"]["id"].startswith(
        "F"
    )
    assert_valid_blocks({"blocks": stats["blocks"]}, "message", tmp_path)


async def test_an_erased_person_who_writes_again_is_someone_new(world: SlackWorld) -> None:
    async with world.app.uow(readonly=True) as uow:
        hana = await uow.people.by_email("hana@example.com")
        ana = await uow.people.by_email("ana@example.com")
    await world.app.bus.handle(
        GiveKudos(giver_id=hana.id, receiver_ids=(ana.id,), amount=5, reason="for the launch")
    )
    url = world.api.response_url("before")
    await world.post(slash_command("balance", user_id="UA", response_url=url))  # cached now
    assert "Redeemable: 5 points" in (await world.api.wait_for_response("before"))[0]["text"]
    preview = await admin(world, "erase person ana@example.com")
    assert "Erase Ana Lima (ana@example.com)" in preview["text"]
    await click(world, preview, "laurel_decide:confirm", "UH", "erased")
    url = world.api.response_url("after")
    await world.post(slash_command("balance", user_id="UA", response_url=url))
    answer = (await world.api.wait_for_response("after"))[0]
    assert "Redeemable: 0 points" in answer["text"]  # a new person, not the erased row
    async with world.app.uow(readonly=True) as uow:
        erased = await uow.people.get(ana.id)
        again = await uow.people.by_email("ana@example.com")
    assert erased is not None and erased.display_name == f"Former colleague #{ana.id}"
    assert again is not None and again.id != ana.id


EVERY_CHANGE = [
    ("budget everyone 120 month", "budget.set"),
    ("budget role:manager 150", "budget.set"),
    ("budget <@UA|ana> 90 week", "budget.set"),
    ("topup dept:Engineering 20 launch week", "budget.topup"),
    ("limits cap 50", "limits.set"),
    ("limits default 3", "limits.set"),
    ("limits reason 5", "limits.set"),
    ('values add "Customer Obsession"', "values.add"),
    ("values required on", "values.required"),
    ("tiers set Gold 1500 🥇 bonus 10", "tiers.set"),
    ("tiers remove Bronze", "tiers.remove"),
    ('catalog add "Team lunch" 200 experience stock 5 approval off', "catalog.put"),
    ("roles grant <@UB|ben> approver", "role.grant"),
    ("settings reminders 2", "settings.set"),
    ("settings reaction tada 3", "settings.set"),
    ("settings channel <#C0RECOG|kudos>", "settings.set"),
    ("erase person ben@example.com", "person.erase"),
]


@pytest.mark.parametrize(("line", "action"), EVERY_CHANGE, ids=[a for _, a in EVERY_CHANGE])
async def test_every_change_goes_through_preview_and_confirm(
    world: SlackWorld, line: str, action: str
) -> None:
    before = await actions_of(world)
    preview = await admin(world, line)
    assert preview["text"].startswith("Confirm this change?"), preview["text"]
    assert await actions_of(world) == before  # nothing before Confirm
    done = await click(world, preview, "laurel_decide:confirm", "UH", "confirmed")
    assert done["text"].startswith("Confirmed by Hana Ruiz")
    assert (await actions_of(world))[0] == action


async def test_a_non_admin_learns_nothing_about_who_exists(world: SlackWorld) -> None:
    known = await admin(world, "erase person ana@example.com", user="UB", name="known")
    unknown = await admin(world, "erase person nobody@example.com", user="UB", name="unknown")
    assert (
        known["text"]
        == unknown["text"]
        == ("Sorry, only HR admins can do that. Nothing was changed.")
    )
