"""Imports every feature's models so that Alembic and the verifier see the whole schema."""
from app.members.models import Member, MemberFlag  # noqa: F401
from app.operators.models import Operator, OperatorStore  # noqa: F401
from app.audit.models import AuditEntry  # noqa: F401
from app.points.models import (EntryReversal, LedgerEntry, LedgerOperation, LotAllocation,  # noqa: F401
                               PointAccount, PointsLot)
from app.programme.models import Programme  # noqa: F401
from app.checkin.models import Checkin, CheckinSettings  # noqa: F401
from app.earning.models import Campaign, EarningEvent, EarnRule, Integration, RuleAward  # noqa: F401
from app.offline_events.models import OfflineEvent  # noqa: F401
from app.taskcenter.models import TaskClaim, TaskDefinition  # noqa: F401
from app.levels.models import LevelChange, LevelDefinition, LevelNotice, MemberLevel  # noqa: F401
from app.segments.models import MemberRFM, MemberTag, Tag  # noqa: F401
from app.staff.models import Staff, StaffAction, StaffStore, Store  # noqa: F401
from mall.models import (CouponCode, Item, ItemStore, LotteryDraw, LotteryPrize, LotterySettings, Order,  # noqa: F401
                         OrderTransition)
from handlers.models import BotMessage, Follower  # noqa: F401
from tasks.models import (Automation, MessageTemplate, OutboxJob, PushRun, Robot, RobotMessage,  # noqa: F401
                          SendLog, SubscribeGrant)
from posters.models import ChannelCode, Invitation, InviteCode, Touchpoint  # noqa: F401
from app.dashboard.models import DashboardDay, DashboardRollup  # noqa: F401
