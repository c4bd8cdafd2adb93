"""One message per person and event, on the platform they use."""

from __future__ import annotations

from adapters.chat.routing import Routing


def test_where_it_happened_if_they_use_it_there_else_the_first_they_use() -> None:
    both = Routing(("slack", "teams"))
    assert both.home({"slack", "teams"}, "teams") == "teams"
    assert both.home({"slack", "teams"}, "console") == "slack"
    assert both.home({"teams"}, "slack") == "teams"


def test_someone_on_no_platform_yet_is_tried_on_the_first_one_running() -> None:
    assert Routing(("slack", "teams")).home(set(), "") == "slack"
    assert Routing(("teams",)).home(set(), "") == "teams"  # Teams keeps it for first contact
    assert Routing(("teams",)).home({"slack"}, "slack") == "teams"  # Slack is not running
    assert Routing(()).home({"slack"}, "") is None
    assert not Routing(("slack",)).delivers("teams", {"teams"})
