"""The branch league table (分支机构排行): a unit's children's KPIs for a month or a quarter, from counters
the org-kpis consumer keeps (docs/org-units.md, "Branch league table"). Scoped to the caller's subtree."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import CallerDep, Routes, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import business_date, utc_now
from loyalty.core.config import get_settings
from loyalty.org import kpi_service, kpi_store, kpis, service
from loyalty.org.kpi_views import LeagueTable, RankBy
from loyalty.org.scope import ScopedByItself

routes = Routes("org", "The bank's org tree: head office, branches, sub-branches and outlets.")


def _this_month() -> str:
    today: date = business_date(utc_now(), get_settings().bank_zone)
    return kpis.month_of(today)


@routes.get("/v1/admin/org-units/{unitId}/kpis", scope=ScopedByItself(), summary="The league table of an org unit's children", operation_id="getOrgUnitKpis",
            errors={403: ["ORG_UNIT_REQUIRED", "ORG_UNIT_UNKNOWN"], 404: ["ORG_UNIT_NOT_FOUND"]})
def get_org_unit_kpis(
    unitId: Annotated[str, id_path("The org unit's id.")],
    caller: CallerDep,
    period: Annotated[str | None, Query(pattern=kpis.PERIOD_PATTERN,
                                        description="A month (`2026-11`) or a quarter (`2026-Q4`); the month in progress when left out.")] = None,
    rankBy: Annotated[RankBy, Query(description="What the units are ranked by, highest first.")] = "activeCustomers",
) -> LeagueTable:
    """For each unit right under the unit (closed ones too; at the head office also `~unassigned`, the
    customers no unit maps), and for the unit itself (`total`): the period's new and active customers,
    AUM and its growth from the month before the period, rewards granted and their cost, coupons issued
    and redeemed and the redemption rate. Read from counters the bus events keep (one batch read, no
    scan): eventually consistent with the events, a few seconds behind. A unit outside your subtree is 404."""
    found = kpi_service.league(service.default_store(), kpi_store.default_store(), caller, unitId, period or _this_month(), rankBy)
    return LeagueTable.of(found, rankBy)


handler = serve(routes)
