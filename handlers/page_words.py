"""The landing and code pages' own words: Jinja's i18n extension on the app's catalogues.

Templates write `{{ _("Get your code on this page") }}` (placeholders as
`_("Text %(keyword)s", keyword=page.keyword)`); the words come from the same gettext
catalogues as our SMS texts (selfserve.landing.PageWords), in the language a handler chose for
the page with `use_page_language` (the campaign's `language`, else the first of SMS_LANGUAGES).
"""

from __future__ import annotations

from flask import Flask, g

from handlers.services import services


def use_page_language(language: str) -> None:
    """The language of this response's page (its words and its `<html lang>`)."""
    g.page_language = language


def page_language() -> str:
    """This response's page language; the default language when no handler chose one."""
    chosen = g.get("page_language")
    return str(chosen) if chosen else services().landing.words.default_language


def page_gettext(message: str) -> str:
    """`message` in this page's language (the English message when not translated)."""
    return services().landing.words.gettext(page_language(), message)


def page_ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural message in this page's language."""
    return page_gettext(singular if count == 1 else plural)


def init_page_words(app: Flask) -> None:
    """Install the i18n extension (new-style gettext: `%` placeholders, autoescaped)."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        page_gettext, page_ngettext, newstyle=True
    )
    app.jinja_env.globals["page_language"] = page_language
