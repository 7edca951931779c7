"""Teams' side of the people directory: names from the roster Teams has shown us
(``TeamsDirectory``, learnt from inbound activities)."""

from __future__ import annotations

from collections.abc import Sequence

from integrations.teams.directory import TeamsDirectory


class TeamsPeople:
    """A ``bot.people.PeopleSource`` over the Teams directory of one workspace."""

    source = "teams"

    def __init__(self, directory: TeamsDirectory) -> None:
        self.directory = directory

    def owns(self, actor: str) -> bool:
        """Bot Framework user ids (``29:…``)."""
        return actor.startswith("29:")

    async def lookup(self, workspace: str, actors: Sequence[str]) -> dict[str, str]:
        """Names of the people among ``actors`` Teams has shown us in ``workspace``."""
        if workspace != self.directory.workspace:
            return {}
        return await self.directory.names(actors)
