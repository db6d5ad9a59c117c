"""The marketer console under /admin/: log-in, dashboard, campaigns, posters, messages, stats.

Every page needs a logged-in console user (one `before_request` guard for the whole blueprint,
so a new page cannot forget it). Forms carry the global CSRF token; log-in is throttled.
Handlers parse the request, make one domain call and render: the counting lives in
`selfserve.console` (activity, log_entries, stats, consent_report), the campaign rules in
`selfserve.campaigns.validation` (the same ones the import command applies).

One blueprint, `admin`: `blueprint` holds it with its guard and hooks; `auth`, `campaigns`,
`posters` and `reports` hang their views on it; `console.init_console` registers it.
"""

from handlers.admin.console import init_console

__all__ = ["init_console"]
