"""Key rotation: `laurel secrets rotate` re-seals every stored secret with the first key of
LAUREL_SECRET_KEYS, so that the old key can go; on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.pending_files import PendingFiles
from adapters.persistence.rekey import Tally, rekey
from adapters.persistence.tables import gift_card_codes, pending_files, redemptions
from adapters.secrets import SecretBox
from adapters.slack.installations import SqlInstallationStore
from bot.bootstrap import bootstrap
from bot.settings import Settings
from core.commands import PutCatalogItem, Redeem
from core.rewards import CatalogItem, ItemKind

from .conftest import migrated_engine
from .test_rewards_chat import give_ana, organisation

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))
LAUREL = str(Path(sys.executable).with_name("laurel"))
HOODIE = CatalogItem(slug="hoodie", name="Hoodie", kind=ItemKind.MERCHANDISE, price=10, ships=True)


@pytest.fixture(params=["sqlite", "pg"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncEngine:
    async with migrated_engine(request.param, tmp_path) as built:
        yield built  # type: ignore[misc]


async def store_one_of_each(engine: AsyncEngine, box: SecretBox) -> None:
    """A gift-card code, a shipping address, a Slack installation, and two pending files
    (one sealed, one kept in plain before keys were set)."""
    app = await bootstrap(
        Settings(DATABASE_URL="sqlite+aiosqlite:///unused.db"), engine=engine, migrate_db=False
    )
    await organisation(app.bus)
    await give_ana(app.uow, app.bus, 50)
    await app.bus.handle(PutCatalogItem(item=HOODIE))
    async with app.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
    assert ana is not None
    await app.bus.handle(
        Redeem(person_id=ana.id, item="hoodie", shipping=box.seal("1 Laurel Lane, Lisbon"))
    )
    assert await GiftCardVault(engine, box).add("hoodie", ["CODE-1", "CODE-2", "CODE-3"]) == 3
    await SqlInstallationStore(engine, box).async_save(
        Installation(user_id="U1", team_id="T1", bot_token="xoxb-secret", bot_id="B1")
    )
    await SqlInstallationStore(engine, box).async_save(
        Installation(user_id="U1", team_id="T2", bot_token="xoxb-other", bot_id="B2")
    )
    await PendingFiles(engine, box).put(ana.id, "export.csv", "text/csv", b"name\nAna\n")
    await PendingFiles(engine, None).put(ana.id, "plain.csv", "text/csv", b"name\nBen\n")


def counts(tallies: list[Tally]) -> dict[str, tuple[int, int, int, int]]:
    return {t.what: (t.total, t.current, t.resealed, t.unopenable) for t in tallies}


async def test_rotation_reseals_everything_with_the_first_key(engine: AsyncEngine) -> None:
    await store_one_of_each(engine, SecretBox([OLD]))
    both = SecretBox([NEW, OLD])
    expected_before = {
        "gift-card codes": (3, 0, 3, 0),
        "shipping addresses": (1, 0, 1, 0),
        "Slack installations": (2, 0, 2, 0),
        "pending files": (2, 0, 2, 0),
    }
    assert counts(await rekey(engine, both, apply=False)) == expected_before
    assert counts(await rekey(engine, both, apply=False)) == expected_before  # changed nothing
    seen: list[tuple[str, int, int]] = []
    done = await rekey(engine, both, batch=2, progress=lambda *p: seen.append(p))
    assert counts(done) == expected_before
    assert ("gift-card codes", 3, 3) in seen and ("Slack installations", 0, 2) in seen
    again = await rekey(engine, both)  # idempotent: everything is current now
    assert {what: (c[1], c[2]) for what, c in counts(again).items()} == {
        "gift-card codes": (3, 0),
        "shipping addresses": (1, 0),
        "Slack installations": (2, 0),
        "pending files": (2, 0),
    }

    # The old key is gone: everything still opens, and a known code is still refused.
    new = SecretBox([NEW])
    vault = GiftCardVault(engine, new)
    assert await vault.add("hoodie", ["CODE-2", "CODE-4"]) == 1
    async with engine.connect() as conn:
        sealed = list((await conn.execute(sa.select(gift_card_codes.c.sealed))).scalars())
        shipping = (
            await conn.execute(sa.select(redemptions.c.shipping_sealed))
        ).scalar_one_or_none()
        files = (await conn.execute(sa.select(pending_files).order_by(pending_files.c.id))).all()
    assert sorted(new.open(s) for s in sealed) == ["CODE-1", "CODE-2", "CODE-3", "CODE-4"]
    assert shipping is not None and new.open(shipping) == "1 Laurel Lane, Lisbon"
    store = SqlInstallationStore(engine, new)
    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == "xoxb-secret"
    assert [row.sealed for row in files] == [True, True]
    assert [new.open_bytes(bytes(row.content)) for row in files] == [
        b"name\nAna\n",
        b"name\nBen\n",
    ]


async def test_a_secret_no_key_opens_is_reported_and_left_alone(engine: AsyncEngine) -> None:
    await store_one_of_each(engine, SecretBox([OLD]))
    assert await GiftCardVault(engine, SecretBox([LOST])).add("hoodie", ["CODE-9"]) == 1
    tallies = counts(await rekey(engine, SecretBox([NEW, OLD])))
    assert tallies["gift-card codes"] == (4, 0, 3, 1)
    async with engine.connect() as conn:
        sealed = list((await conn.execute(sa.select(gift_card_codes.c.sealed))).scalars())
    assert sum(SecretBox([LOST]).key_of(s) == 0 for s in sealed) == 1  # untouched


def laurel(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LAUREL_")}
    environment.update(env)
    return subprocess.run(
        [LAUREL, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


async def test_laurel_secrets_rotate_and_doctor(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/rotate.db"
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        await store_one_of_each(engine, SecretBox([OLD]))
    finally:
        await engine.dispose()
    env = {"DATABASE_URL": url}

    assert (
        "LAUREL_SECRET_KEYS is not set" in laurel("secrets", "rotate", cwd=tmp_path, **env).stderr
    )
    unset = laurel("doctor", cwd=tmp_path, **env)
    assert unset.returncode == 1
    assert "FAIL secrets: LAUREL_SECRET_KEYS is not set, yet the database holds 7" in unset.stdout

    both = f"{NEW},{OLD}"
    doctor = laurel("doctor", cwd=tmp_path, LAUREL_SECRET_KEYS=both, **env)
    assert doctor.returncode == 0, doctor.stdout
    assert "ok   secrets: 2 keys; 8 of 8 stored secrets are not sealed with the first key" in (
        doctor.stdout
    )
    dry = laurel("secrets", "rotate", "--dry-run", cwd=tmp_path, LAUREL_SECRET_KEYS=both, **env)
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: nothing was changed. 8 secrets are still sealed with an older key." in (
        dry.stdout
    )
    done = laurel("secrets", "rotate", cwd=tmp_path, LAUREL_SECRET_KEYS=both, **env)
    assert done.returncode == 0, done.stderr
    assert "Every stored secret is sealed with the first key now." in done.stdout
    assert "The keys after the first can be removed" in done.stdout
    only_new = laurel("doctor", cwd=tmp_path, LAUREL_SECRET_KEYS=NEW, **env)
    assert "ok   secrets: 1 key; all 8 stored secrets use the first key" in only_new.stdout

    lost = laurel("doctor", cwd=tmp_path, LAUREL_SECRET_KEYS=LOST, **env)
    assert lost.returncode == 1
    assert "FAIL secrets: 8 of 8 stored secrets open with none of the 1 key" in lost.stdout
    refused = laurel("secrets", "rotate", cwd=tmp_path, LAUREL_SECRET_KEYS=LOST, **env)
    assert refused.returncode == 1
    assert "8 secrets open with none of the keys" in refused.stderr

    key = laurel("secrets", "new-key", cwd=tmp_path).stdout.strip()
    assert SecretBox([key]).open(SecretBox([key]).seal("x")) == "x"
