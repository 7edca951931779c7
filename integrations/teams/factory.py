"""Build the Teams ChatPort for an app, from the SDK stack ``handlers.teams`` started."""

from __future__ import annotations

from aiohttp import web

from bot.ports import ChatPort
from integrations.teams.graph import GraphClient
from integrations.teams.port import TeamsPort
from integrations.teams.sdk import TEAMS


async def teams_ports(app: web.Application) -> dict[str, ChatPort]:
    """The Teams port when Teams is configured (and its stack is up), else nothing."""
    slot = app.get(TEAMS)
    if slot is None or slot.bot is None or slot.directory is None:
        return {}
    bot = slot.bot
    graph = GraphClient(bot.settings.teams_graph_url, bot.graph_token, bot.http)
    return {"teams": TeamsPort(bot, slot.directory, bot.settings, graph, people=slot.people)}
