"""The admin API's routers, one per resource, mounted together under /api/v1."""

from fastapi import APIRouter

from admin_api.routes import (
    analytics,
    calibration,
    faq,
    gaps,
    lead_settings,
    preview,
    teams,
    tickets,
    tokens,
    translations,
)

API_PREFIX = "/api/v1"
# The routes whose body is a file (an FAQ file, an eval file): only they may receive 20 MB.
FILE_PATHS = (f"{API_PREFIX}/faq/import", f"{API_PREFIX}/eval")

api_router = APIRouter(prefix=API_PREFIX)
# calibration before faq: its /faq/calibration is no entry's key.
for module in (
    calibration,
    faq,
    translations,
    preview,
    gaps,
    tickets,
    teams,
    lead_settings,
    analytics,
    tokens,
):
    api_router.include_router(module.router)
