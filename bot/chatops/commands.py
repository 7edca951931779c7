"""What an incident-room chat command asks of the core, the same on every platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chatops import grammar as g
from bot.domain import commands as c
from bot.domain.model import Role, Status


def incident_command(parsed: g.ParsedCommand, now: datetime) -> c.Command | None:
    """The core command for an incident-room command; None for what a platform shows itself
    (forms, the timeline, the summary, help)."""
    match parsed:
        case g.SetStatus(status=status):
            return c.ChangeStatus(Status(status))
        case g.SetSeverity(severity=sev):
            return c.ChangeSeverity(sev)
        case g.AssignRole(role=role, user=who):
            return c.AssignRole(Role(role), who)
        case g.Update(text=text):
            return c.PostUpdate(text)
        case g.Note(text=text):
            return c.AddNote(text)
        case g.Action(text=text, owner=owner, due=due):
            when = datetime(due.year, due.month, due.day, tzinfo=UTC) if due else None
            return c.AddActionItem(text, owner, when)
        case g.ActionDone(item_id=item_id):
            return c.SetActionItemDone(item_id)
        case g.Acknowledge():
            return c.Acknowledge()
        case g.Resolve(summary=summary):
            return c.ChangeStatus(Status.RESOLVED, summary)
        case g.Close():
            return c.ChangeStatus(Status.CLOSED)
        case g.Reopen():
            return c.ChangeStatus(Status.INVESTIGATING, "reopened")
        case g.Remind(minutes=minutes):
            return c.SetReminders(True, now + timedelta(minutes=minutes))
        case g.RemindOff():
            return c.SetReminders(False)
        case g.RemindOn():
            return c.SetReminders(True)
        case g.Page(target=target):
            return c.Page(target)
        case g.Ticket(service=service):
            return c.RequestTicket(service)
        case g.Publish(service=service):
            return c.RequestPublish(service)
    return None
