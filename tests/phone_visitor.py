"""A visitor walking the QR landing pages the way a harness or a simple phone browser does.

It reads the forms a page really has (no knowledge of the app's field names beyond what the
brief promises a harness may rely on: a number field named phone or typed tel, a code field
named code or with autocomplete one-time-code), fills them in, and submits them with every
hidden field the page carried (so the CSRF token travels as a browser would send it).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


@dataclass
class FormField:
    """One <input>, <button> or <textarea> of a form."""

    name: str
    type: str
    value: str
    attributes: dict[str, str]


@dataclass
class Form:
    """A form as the page has it."""

    action: str
    method: str
    fields: list[FormField] = field(default_factory=list)

    def field_where(self, **wanted: str) -> FormField | None:
        """The first field whose attributes match all of `wanted` (case-insensitive values)."""
        for candidate in self.fields:
            if all(
                candidate.attributes.get(name, "").lower() == value.lower()
                for name, value in wanted.items()
            ):
                return candidate
        return None

    def number_field(self) -> FormField | None:
        """A phone number field: name phone, or type tel."""
        return self.field_where(name="phone") or self.field_where(type="tel")

    def code_field(self) -> FormField | None:
        """A one-time code field: name code, or autocomplete one-time-code."""
        return self.field_where(name="code") or self.field_where(autocomplete="one-time-code")

    def data(self, **filled: str) -> dict[str, str]:
        """What the browser would post: hidden and prefilled values, plus `filled`."""
        values = {
            f.name: f.value
            for f in self.fields
            if f.name and f.type not in ("submit", "button", "checkbox", "radio")
        }
        values.update(filled)
        return values


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(
                action=attributes.get("action", ""), method=attributes.get("method", "get").lower()
            )
            self.forms.append(self._current)
        elif tag in ("input", "button", "textarea") and self._current is not None:
            kind = attributes.get("type", "text" if tag != "button" else "submit").lower()
            self._current.fields.append(
                FormField(attributes.get("name", ""), kind, attributes.get("value", ""), attributes)
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def read_forms(html: str) -> list[Form]:
    """Every form of a page."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def number_form(html: str) -> Form:
    """The form with a phone number field; fails the test when there is none."""
    for form in read_forms(html):
        if form.number_field() is not None:
            return form
    raise AssertionError("no form with a phone number field on the page")


def code_form(html: str) -> Form:
    """The form with a one-time code field; fails the test when there is none."""
    for form in read_forms(html):
        if form.code_field() is not None:
            return form
    raise AssertionError("no form with a one-time code field on the page")


def checkbox_labelled(html_text: str, form: Form, label: str) -> FormField:
    """The form's checkbox that a `<label for>` saying `label` names; fails when there is none."""
    for found in re.finditer(r'<label for="([^"]+)">(.*?)</label>', html_text, flags=re.S):
        if html.unescape(found.group(2)).strip() == label:
            box = form.field_where(id=found.group(1), type="checkbox")
            if box is not None:
                return box
    raise AssertionError(f"no checkbox labelled {label!r} in the form")


def one_time_code(sms_body: str) -> str:
    """The 6-digit code in a one-time code text."""
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", sms_body)
    assert match, f"no 6-digit code in {sms_body!r}"
    return match.group(1)


class PhoneVisitor:
    """Scans a poster, types a number, types the code: through the Flask test client."""

    def __init__(self, client: Any, user_agent: str = ANDROID, address: str = "203.0.113.7"):
        self.client = client
        self.headers = {"User-Agent": user_agent}
        self.environ = {"REMOTE_ADDR": address}
        self.page = ""

    @property
    def text(self) -> str:
        """The page's words without tags, entities decoded: what a person reads."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.page))

    def get(self, url: str) -> Any:
        """Open a page."""
        response = self.client.get(url, headers=self.headers, environ_base=self.environ)
        self.page = response.get_data(as_text=True)
        return response

    def scan(self, slug: str = "spring", src: str | None = "front-door") -> Any:
        """Open the URL a poster's QR code holds."""
        return self.get(f"/q/{slug}" + (f"?src={src}" if src else ""))

    def submit(self, form: Form, data: dict[str, str]) -> Any:
        """Submit a form as a browser would."""
        response = self.client.post(
            form.action, data=data, headers=self.headers, environ_base=self.environ
        )
        self.page = response.get_data(as_text=True)
        return response

    def enter_number(self, phone: str, tick: str = "") -> Any:
        """Fill the number field of the page's number form (ticking the checkbox whose
        label says `tick`, if given) and submit it."""
        form = number_form(self.page)
        field_name = form.number_field().name  # type: ignore[union-attr]
        data = form.data(**{field_name: phone})
        if tick:
            box = checkbox_labelled(self.page, form, tick)
            data[box.name] = box.value or "on"  # what a browser sends for a ticked box
        return self.submit(form, data)

    def enter_code(self, code: str) -> Any:
        """Fill the code field of the page's code form and submit it."""
        form = code_form(self.page)
        field_name = form.code_field().name  # type: ignore[union-attr]
        return self.submit(form, form.data(**{field_name: code}))

    def press(self, button_text: str) -> Any:
        """Submit the form whose submit button says `button_text`."""
        chunks = re.findall(r"<form\b.*?</form>", self.page, flags=re.S)
        for form, chunk in zip(read_forms(self.page), chunks, strict=True):
            if button_text.lower() in chunk.lower():
                return self.submit(form, form.data())
        raise AssertionError(f"no form with a {button_text!r} button")
