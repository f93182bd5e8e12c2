"""Money is an integer amount of minor units with an ISO 4217 currency; never a float."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema

# Active ISO 4217 codes. An unknown currency breaks the event contract and is refused.
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES
    VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()
)


def _known_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError(f"unknown currency {code!r}: expected an ISO 4217 code")
    return code


# The schema lists the codes, so clients (and the contract tests) know every one that is accepted.
Currency = Annotated[
    str,
    AfterValidator(_known_currency),
    WithJsonSchema({"type": "string", "enum": sorted(ISO_4217), "description": "An ISO 4217 currency code."}),
]
# The currency a threshold is in when a definition names none: the banks this engine is built for
# book in renminbi (../shared/DOMAIN.md).
DEFAULT_CURRENCY = "CNY"
# StrictInt: 12.5 and "12" are refused rather than silently coerced.
MinorUnits = Annotated[StrictInt, Field(ge=0)]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amountMinor: MinorUnits
    currency: Currency
