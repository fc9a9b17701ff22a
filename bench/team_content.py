"""Content for the scale benchmark: each team's copy of the bundled dashboards and alert rules.

bench/scale.py copies this file as `_team.py` into generated content directories next to one
small module per team (`team_0007.py`: `build(settings)` calls team_dashboard or
team_rule_groups). Every team dashboard is built afresh by the bundled module, then given its
own uid and title; every team's rules are the bundled rules with a `team` label, in groups
of their own. Bundled content is found the way `obsgen build` finds it, so new bundled
dashboards and alerts join the benchmark by themselves.
"""

from __future__ import annotations

import dataclasses

import attr
import grafanalib.core as G

from generator.content import build_dashboards, build_rule_groups, discover
from generator.rules import RuleGroup
from generator.settings import Settings

UID_LENGTH = 40  # Grafana's limit


def team_dashboard(settings: Settings, team: int) -> G.Dashboard:
    """Returns team `team`'s dashboard: the bundled dashboards take turns, each rebuilt."""
    modules = discover("dashboards")
    module = modules[team % len(modules)]
    dashboards = build_dashboards(module, settings)
    base = dashboards[team // len(modules) % len(dashboards)]
    return attr.evolve(
        base, uid=f"t{team:04d}-{base.uid}"[:UID_LENGTH], title=f"{base.title} (team {team})"
    )


def team_rule_groups(settings: Settings, team: int, limit: int) -> list[RuleGroup]:
    """Returns team `team`'s copy of the bundled rule groups, at most `limit` rules in all."""
    label = {"team": f"team-{team:04d}"}
    groups = []
    for module in discover("alerts"):
        for group in build_rule_groups(module, settings):
            rules = tuple(
                dataclasses.replace(rule, labels={**rule.labels, **label})
                for rule in group.rules[: max(0, limit)]
            )
            limit -= len(rules)
            if rules:
                groups.append(RuleGroup(f"{group.name}-team-{team:04d}", rules, group.interval))
    return groups


def bundled_rule_count(settings: Settings) -> int:
    """Returns how many rules the bundled alert modules define."""
    return sum(
        len(group.rules)
        for module in discover("alerts")
        for group in build_rule_groups(module, settings)
    )
