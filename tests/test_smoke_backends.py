import pytest

from core.errors import InsufficientAllowance

from .harness import Harness


async def test_give_and_balance_on_every_backend(world: Harness) -> None:
    ana, ben = await world.person("ana"), await world.person("ben")
    result = await world.give(ana, ben, amount=10, key="k1")
    assert result.allowance.left == 90
    again = await world.give(ana, ben, amount=10, key="k1")
    assert again.replayed and again.recognition.id == result.recognition.id
    assert (await world.balance(ben)).earned == 10
    assert (await world.balance(ana)).allowance.left == 90
    with pytest.raises(InsufficientAllowance):
        await world.give(ana, ben, amount=100, key="k2")
    await world.revoke("k1")
    assert (await world.balance(ben)).earned == 0
    assert (await world.balance(ana)).allowance.left == 100
