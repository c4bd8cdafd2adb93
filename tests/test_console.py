"""`laurel chat` end to end: a real process, lines on stdin, a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LAUREL = str(Path(sys.executable).with_name("laurel"))


def chat(cwd: Path, lines: list[str], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(COLUMNS="200", **env)
    return subprocess.run(
        [LAUREL, "chat", *args],
        input="\n".join(lines) + "\n",
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_demo_gives_kudos_and_reads_it_back_in_three_languages(tmp_path: Path) -> None:
    done = chat(
        tmp_path,
        [
            "kudos @ben +5 thanks for the review #teamwork",
            "balance",
            "leaderboard month",
            "lang de",
            "balance",
            "lang ar",
            "history",
        ],
        "--demo",
        "--as",
        "ana@example.com",
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "laurel.db").exists()
    assert "Seeded a demo organisation: 14 people in 3 departments." in out
    assert "You gave 5 points to Ben Weber." in out
    assert "Values: #teamwork" in out
    assert "You have 85 points left to give until" in out
    assert "Ben Weber hat" not in out  # Ben reads German, but that was Ana's reply
    assert "Ana Lima hat dir 5 Punkte gegeben" in out  # Ben's notification, in his language
    assert "Leaderboard · this month" in out
    assert "Sprache auf Deutsch umgestellt." in out
    assert "Einlösbar: 20 Punkte" in out
    assert "تم ضبط اللغة على العربية." in out
    assert "\u2068Ben Weber\u2069" in out  # names isolated inside right-to-left text


def test_rules_refuse_politely_and_change_nothing(tmp_path: Path) -> None:
    done = chat(
        tmp_path,
        [
            "kudos @ana +5 I am great at this",
            "kudos @nobody +5 thanks for everything",
            "kudos @ben +500 thanks for everything",
            "kudos @ben +5 ok",
            "kudos @ben +1k thanks for everything",
            "frobnicate",
            "balance",
        ],
        "--demo",
        "--as",
        "ana@example.com",
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "You can't give kudos to yourself." in out
    assert "I don't know anyone called @nobody." in out
    assert "The amount must be between 1 and 100 points." in out
    assert "Please say why, in at least 10 characters." in out
    assert "“+1k” is not an amount." in out
    assert "I didn't understand “frobnicate”." in out
    assert "Left to give: 90 points of 100" in out  # only the seeded gift was spent


def test_a_second_run_keeps_the_data_and_does_not_reseed(tmp_path: Path) -> None:
    chat(tmp_path, ["kudos @ben +5 thanks for the review"], "--demo", "--as", "ana@example.com")
    again = chat(tmp_path, ["as ben@example.com", "balance"], "--demo")
    assert "Seeded" not in again.stdout
    assert "Du bist jetzt Ben Weber." in again.stdout  # Ben chose German in the demo
    assert "Einlösbar: 20 Punkte" in again.stdout  # 10 + 5 seeded, 5 given above


def test_without_an_identity_it_asks_who_you_are(tmp_path: Path) -> None:
    done = chat(tmp_path, ["balance", "as nobody@example.com", "help"])
    assert done.returncode == 0, done.stderr
    assert "Tell me who you are first: as EMAIL" in done.stdout
    assert "I don't know anyone called nobody@example.com." in done.stdout
    assert "as EMAIL — act as someone else" in done.stdout


def test_admin_changes_are_previewed_confirmed_and_audited_in_the_terminal(
    tmp_path: Path,
) -> None:
    done = chat(
        tmp_path,
        [
            "lang en",
            "admin limits daily 30",
            "cancel",
            "admin limits daily 30",
            "confirm",
            "confirm",
            "admin budget dept:Engineering 150",
            "admin confirm",
            "admin budget show",
            "admin topup @ana 20 launch week",
            "confirm",
            "admin values rename teamwork collaboration",
            "confirm",
            "admin tiers set Gold 1500 bonus 10",
            "confirm",
            "admin catalog edit mug cost 30 stock none",
            "confirm",
            "admin roles grant @ben approver",
            "confirm",
            "admin settings digest off",
            "confirm",
            "admin export people",
            "admin audit",
            "as ana@example.com",
            "admin limits daily 1",
            "admin export people",
        ],
        "--demo",
        "--as",
        "maria@example.com",
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert out.count("Daily giving limit: none → 30") == 2
    assert "Cancelled: nothing changed." in out
    assert out.count("Done: the change is applied and recorded in the audit log.") == 8
    assert "There is no change waiting for your confirmation." in out  # the third confirm
    assert "department Engineering: 150 points per month" in out
    exported = tmp_path / "exports"
    [people] = list(exported.glob("laurel-people-*.csv"))
    assert "ana@example.com" in people.read_text()
    assert "limits.set limit:daily (console)" in out and "export.people" in out
    for action in ("budget.topup", "values.rename", "tiers.set", "catalog.put", "role.grant"):
        assert action in out
    assert "settings.set setting:digest (console)" in out
    assert out.count("Sorry, only HR admins can do that. Nothing was changed.") == 2
