"""Customers: phone numbers, who a number is (identity), the directory, consent and opt-outs.

Owns E.164 normalisation and masking, the customer id of a number (the directory's, or a
keyed pseudonym), the directory import, the marketing-consent trail with double opt-in and
quiet hours, and the opt-out register (STOP and Twilio's 21610). It may import `ops`,
`models` and `errors`; it knows nothing of texts, campaigns or Talon.One.
"""

from selfserve.customers.consent import (
    CONFIRM_WORDS,
    IMPORT_SOURCE,
    REGION_DEFAULT_ZONES,
    WEB_CONSENT_LABEL,
    ConsentState,
    ConsentWording,
    asks_for_y,
    current_consent,
    export_consent_csv,
    is_opted_out,
    marketing_channel,
    marketing_skip_reason,
    next_send_time,
    pending_subscription,
    recipient_zone,
    record_consent,
    record_web_consent,
    revoke,
    set_opt_out,
    web_consent_wording,
)
from selfserve.customers.data_export import export_person, has_data
from selfserve.customers.directory import CustomerFileError, import_customers
from selfserve.customers.erasure import erase_person, erasure_key
from selfserve.customers.identity import Identity, identify, pseudonym
from selfserve.customers.languages import language_of, remember_language
from selfserve.customers.phones import (
    mask_phone,
    national_format,
    region_of,
    region_time_zone,
    split_channel,
    to_e164,
    to_e164_and_mask,
)
from selfserve.customers.whatsapp import (
    has_phone,
    is_scoped_id,
    is_whatsapp_opted_out,
    scoped_person,
    set_whatsapp_opt_out,
    touch_whatsapp,
    whatsapp_address,
    whatsapp_window_open,
)

__all__ = [
    "asks_for_y",
    "CONFIRM_WORDS",
    "ConsentState",
    "ConsentWording",
    "current_consent",
    "CustomerFileError",
    "erase_person",
    "erasure_key",
    "export_consent_csv",
    "export_person",
    "has_data",
    "has_phone",
    "identify",
    "Identity",
    "import_customers",
    "IMPORT_SOURCE",
    "is_opted_out",
    "is_scoped_id",
    "is_whatsapp_opted_out",
    "language_of",
    "marketing_channel",
    "marketing_skip_reason",
    "mask_phone",
    "national_format",
    "next_send_time",
    "pending_subscription",
    "pseudonym",
    "recipient_zone",
    "record_consent",
    "record_web_consent",
    "REGION_DEFAULT_ZONES",
    "region_of",
    "region_time_zone",
    "remember_language",
    "revoke",
    "scoped_person",
    "set_opt_out",
    "set_whatsapp_opt_out",
    "split_channel",
    "to_e164",
    "to_e164_and_mask",
    "touch_whatsapp",
    "WEB_CONSENT_LABEL",
    "web_consent_wording",
    "whatsapp_address",
    "whatsapp_window_open",
]
