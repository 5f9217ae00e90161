"""What the workspace's settings answer, apart from pydantic (inherited by the model in
``settings.py`` and by its cached view: see ``views.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incident_kit.views import Logic


class SettingsLogic(Logic):
    if TYPE_CHECKING:
        domain: str | None
        sender: str | None
        organizer: str | None
        organisation: str

    @property
    def mail_domain(self) -> str:
        """The domain UIDs and Message-IDs end in: ``domain``, else the sender's, else one
        made from the organisation's name under ``.invalid`` (never a real host)."""
        if self.domain:
            return self.domain
        from email.utils import parseaddr

        for who in (self.sender, self.organizer):
            address = parseaddr(who or "")[1]
            if "@" in address:
                return address.rsplit("@", 1)[1].lower()
        from incident_kit.names import slugify

        return f"{slugify(self.organisation, 60)}.invalid"
