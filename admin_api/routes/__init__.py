"""The admin API's routers, one per resource, mounted together under /api/v1."""

from fastapi import APIRouter

from admin_api.routes import analytics, faq, gaps, lead_settings, preview, tickets, tokens

api_router = APIRouter(prefix="/api/v1")
for module in (faq, preview, gaps, tickets, lead_settings, analytics, tokens):
    api_router.include_router(module.router)
