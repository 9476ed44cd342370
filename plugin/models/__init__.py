"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from .activity import Activity
from .audit import AuditEntry
from .badges import Award, Badge
from .cohorts import CheckIn, Cohort, CohortCommunity, CohortTeam, Enrolment, RiskAssessment
from .inbox import InboxItem
from .library import Feed, LibraryItem, SuccessStory
from .missions import Evidence, Mission, MissionProgress
from .notifications import NotificationLog
from .organisation import Organisation
from .people import Person, RoleAssignment, TokenCache
from .points import PointsEntry
from .recognition import Nomination, Recognition
from .share import ShareRequest
from .sync import GraphSubscription, SyncState
from .teams import Channel, Community, Team, TeamMembership

__all__ = [
    "Activity", "AuditEntry", "Award", "Badge", "Channel", "CheckIn", "Cohort", "CohortCommunity",
    "CohortTeam", "Community", "Enrolment", "Evidence", "Feed", "GraphSubscription", "InboxItem", "LibraryItem",
    "Mission",
    "MissionProgress", "Nomination", "NotificationLog", "Organisation", "Person", "PointsEntry",
    "Recognition", "RiskAssessment", "RoleAssignment", "ShareRequest", "SuccessStory", "SyncState", "Team",
    "TeamMembership", "TokenCache",
]
