"""Code lists an originated IAT entry is checked against (nacha-format.md §7.4).

Why a module of data: country, currency and IAT transaction type codes are closed lists the
Rules (and the gateway operators) enforce; a code outside them is a return (R80 "IAT entry
coding error") days later, so the builder refuses it up front with the row's reference.
"""

from __future__ import annotations

__all__ = [
    "FOREIGN_EXCHANGE_INDICATORS",
    "FOREIGN_EXCHANGE_REFERENCE_INDICATORS",
    "IAT_TRANSACTION_TYPE_CODES",
    "ID_QUALIFIERS",
    "ISO_COUNTRY_CODES",
    "ISO_CURRENCY_CODES",
]

#: Addenda 10 positions 04-06.
IAT_TRANSACTION_TYPE_CODES: tuple[str, ...] = (
    "ANN", "BUS", "DEP", "LOA", "MIS", "MOR", "PEN", "RLS", "REM", "SAL", "TAX", "TEL", "WEB",
    "ARC", "BOC", "POP", "RCK",
)  # fmt: skip

#: Batch header 21-22: fixed-to-variable, variable-to-fixed, fixed-to-fixed.
FOREIGN_EXCHANGE_INDICATORS: tuple[str, ...] = ("FV", "VF", "FF")
#: Batch header 23: 1 exchange rate, 2 reference number, 3 space filled.
FOREIGN_EXCHANGE_REFERENCE_INDICATORS: tuple[str, ...] = ("1", "2", "3")
#: Addenda 13/14/18 positions 39-40: 01 national clearing system number, 02 BIC, 03 IBAN.
ID_QUALIFIERS: tuple[str, ...] = ("01", "02", "03")

#: ISO 3166-1 alpha-2, officially assigned codes.
ISO_COUNTRY_CODES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table, easier to check by eye
)

#: ISO 4217 active currency codes (funds and precious-metal codes left out).
ISO_CURRENCY_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER
    ZAR ZMW ZWG
    """.split()  # noqa: SIM905 - a table, easier to check by eye
)
