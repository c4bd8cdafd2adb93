"""`laurel catalog import`: the shop from a CSV file; bad rows reported, changing nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from bot.cli import main
from core.rewards import ItemKind

CATALOG = """slug,name,kind,price,approval_needed,stock,min_tier,per_person_limit,available_until
mug,laurel mug,merchandise,25,,20,,2,
,Plant ten trees,charity,15,no,,,,
lunch,Lunch with the CEO,experience,150,yes,2,Silver,,2027-06-30
bad,Broken,spaceship,10,,,,,
worse,Worse,custom,ten,,,,,
"""


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/catalog.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def items(url: str) -> dict[str, object]:
    async def read() -> dict[str, object]:
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(engine)(readonly=True) as uow:
                return {i.slug: i for i in await uow.catalog.items()}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_import_adds_items_and_reports_bad_rows(database: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(CATALOG, encoding="utf-8")
    done = CliRunner().invoke(main, ["catalog", "import", str(path)])
    assert done.exit_code == 1, done.output
    assert "3 items imported" in done.output
    assert "5" in done.output and "spaceship" in done.output and "ten" in done.output
    found = items(database)
    assert set(found) == {"mug", "plant-ten-trees", "lunch"}
    trees, lunch = found["plant-ten-trees"], found["lunch"]
    assert trees.kind is ItemKind.CHARITY and not trees.approval_needed  # type: ignore[attr-defined]
    assert lunch.min_tier == "Silver" and lunch.stock == 2  # type: ignore[attr-defined]
    # Importing again replaces by slug: nothing is doubled.
    CliRunner().invoke(main, ["catalog", "import", str(path)])
    assert len(items(database)) == 3


def test_an_unreadable_file_is_one_line(database: str, tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["catalog", "import", str(tmp_path / "missing.csv")])
    assert done.exit_code == 1
    assert done.output.strip().startswith("Error:") and len(done.output.strip().splitlines()) == 1


def test_gift_card_codes_need_keys_and_a_gift_card(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    catalog = tmp_path / "catalog.csv"
    catalog.write_text("name,kind,price\nCoffee card,gift_card,10\nMug,merchandise,20\n")
    codes = tmp_path / "codes.csv"
    codes.write_text("code\nGC-1\nGC-2\nGC-1\n")
    CliRunner().invoke(main, ["catalog", "import", str(catalog)])
    no_keys = CliRunner().invoke(main, ["catalog", "codes", "coffee-card", str(codes)])
    assert no_keys.exit_code == 1 and "LAUREL_SECRET_KEYS" in no_keys.output
    monkeypatch.setenv("LAUREL_SECRET_KEYS", Fernet.generate_key().decode())
    added = CliRunner().invoke(main, ["catalog", "codes", "coffee-card", str(codes)])
    assert added.exit_code == 0, added.output
    assert "2 codes added to coffee-card (1 already known)" in added.output
    wrong = CliRunner().invoke(main, ["catalog", "codes", "mug", str(codes)])
    assert wrong.exit_code == 1 and "not a gift card" in wrong.output


def test_the_payroll_and_donation_reports(database: str, tmp_path: Path) -> None:
    from adapters.console.demo import seed_demo
    from bot.bootstrap import bootstrap
    from bot.settings import load_settings
    from core.commands import Redeem

    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "slug,name,kind,price,approval_needed\n"
        "bonus,Payroll bonus,cash_out,40,no\nforest,Forest fund,charity,15,no\n"
    )
    CliRunner().invoke(main, ["catalog", "import", str(catalog)])

    async def redeem() -> None:
        app = await bootstrap(load_settings())
        try:
            await seed_demo(app.bus, app.uow)
            async with app.uow() as uow:  # a point is worth one euro
                policy = await uow.config.load()
                await uow.config.save_policy(replace(policy.policy, point_value_cents=100))
                await uow.commit()
            async with app.uow(readonly=True) as uow:
                ana = await uow.people.by_email("ana@example.com")
            assert ana is not None
            await app.bus.handle(Redeem(person_id=ana.id, item="forest"))
        finally:
            await app.close()

    asyncio.run(redeem())
    done = CliRunner().invoke(main, ["catalog", "report", "charity"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "request,approved_at,email,name,item,quantity,points,value"
    assert len(lines) == 2 and ",ana@example.com,Ana Lima,Forest fund,1,15,15.00 EUR" in lines[1]
    payroll = CliRunner().invoke(main, ["catalog", "report", "cash_out", "--from", "2999-01-01"])
    assert payroll.stdout.strip().splitlines()[1:] == []
