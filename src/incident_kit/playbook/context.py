"""What each kind of template is given: the names and attributes a template may use.

Validation checks templates against these specs, so a typo in a playbook is caught by
``incident validate`` rather than at 3 am by ``incident update``. ``documents.py`` builds
contexts with exactly these names (a test holds the two together).
"""

from __future__ import annotations

from collections.abc import Mapping

# None: the name exists and any attribute of it may be used.
Spec = Mapping[str, frozenset[str] | None]

INCIDENT_ATTRS = frozenset(
    {
        "id",
        "channel",
        "title",
        "functionality",
        "state",
        "audience",
        "severity",
        "summary",
        "team",
        "manager",
        "bridge",
        "document_url",
        "declared_at",
        "impact_started_at",
        "mitigated_at",
        "resolved_at",
        "stage",
        "notes",
        "milestones",
        "timeline",
        "updates",
        "customer_messages",
        "mitigation",
        "audit",
        "retrospective",
        "tickets",
        "open_tickets",
        "responders",
        "latest_milestone",
        "verdicts",
        "checked",
        "roles",
        "fields",
        "events",
        "history",
        "playbook_version",
        "playbook_hash",
        "stage_since",
    }
)

SEVERITY_ATTRS = frozenset(
    {
        "name",
        "label",
        "description",
        "pages",
        "status_page_impact",
        "retrospective",
    }
)

CONTACT_ATTRS = frozenset(
    {"new_incidents_channel", "email_group", "ownership_database", "incident_document"}
)

CHANNEL_CONTEXT: Spec = {
    "declared": None,
    "functionality": None,
    "state": None,
    "audience": None,
    "severity": None,
    "team": None,
    "manager": None,
    "fields": None,
}

MESSAGE_CONTEXT: Spec = {
    "incident": INCIDENT_ATTRS,
    "severity": SEVERITY_ATTRS,
    "contacts": CONTACT_ATTRS,
    "playbook": None,
    "org": None,
    "message": None,
    "milestone": None,
    "next_update": None,
    "responder": None,
    "impact": None,
    "impact_duration": None,
    "sent": None,
    "retrospective_on": None,
    # What customers were last told: the status-page status of the latest customer
    # message ("investigating", …, "resolved"), empty when none was sent.
    "customer_status": None,
    "now": None,
    "tz": None,
    "customer_tz": None,
}

# The retrospective's invitation (`invitation:` of the playbook).
INVITATION_CONTEXT: Spec = {
    **MESSAGE_CONTEXT,
    "cancelled": None,
    "reason": None,
    "missing": None,
}

DOCUMENT_CONTEXT: Spec = {
    **MESSAGE_CONTEXT,
    "messages": None,
    "document": None,
    "phases": None,
    "checklist": None,
    "metrics": None,
    "filter": None,
    "declared_under": None,
    "figures": frozenset({"timeline", "timeline_compact"}),
}
