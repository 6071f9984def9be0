from pocketocr.tasks.card.rules import (
    brand_of,
    default_grouping,
    luhn_check_digit,
    luhn_valid,
    mask_number,
    parse_expiry,
    plausible_length,
)


def test_luhn_known_numbers():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("378282246310005")          # Amex test number
    assert luhn_valid("6011111111111117")         # Discover
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("")
    assert not luhn_valid("4111x11111111111")


def test_check_digit_completes_body():
    for body in ["411111111111111", "37828224631000", "622576888888888"]:
        assert luhn_valid(body + luhn_check_digit(body))


def test_brands_and_lengths():
    assert brand_of("4111111111111111") == "visa"
    assert brand_of("5500000000000004") == "mastercard"
    assert brand_of("2221000000000009") == "mastercard"
    assert brand_of("2720990000000000") == "mastercard"
    assert brand_of("378282246310005") == "amex"
    assert brand_of("6225768888888888") == "unionpay"
    assert brand_of("3530111333300000") == "jcb"
    assert brand_of("9999999999999999") is None
    assert plausible_length("378282246310005")
    assert not plausible_length("3782822463100050")  # Amex is 15 digits
    assert default_grouping("378282246310005") == (4, 6, 5)


def test_domestic_schemes_hold_their_lengths():
    """Elo, Verve, Napas, UzCard, Humo and Dankort are known brands, so a reading with a digit lost or added is
    not plausible (an unknown brand passes at any 13-19 digits); Elo and Verve win over the wider Discover and
    UnionPay ranges that hold theirs."""
    from pocketocr.tasks.card.rules import plausible_number

    for number, brand in [("6500311234567892", "elo"), ("5067001234567897", "elo"), ("6277801234567891", "elo"),
                          ("5060991234567890", "verve"), ("6500021234567893", "verve"), ("9704123456789012", "napas"),
                          ("8600123456789012", "uzcard"), ("9860123456789012", "humo"), ("5019123456789012", "dankort")]:
        assert brand_of(number) == brand, number
        assert plausible_number(number), number
        assert not plausible_number(number[:-1]) and not plausible_number(number + "0"), number
    assert brand_of("6500281234567890") == "discover" and brand_of("6277791234567890") == "unionpay"
    assert plausible_number("9704123456789012345")  # Napas also prints 19 digits
    assert plausible_number("979912345678901")      # no brand: any 13-19 digits


def test_printed_grouping_is_the_brands_own():
    from pocketocr.tasks.card.rules import printed_grouping

    assert printed_grouping("630498576360818100", (4, 4, 4, 6))       # Maestro, 18 digits
    assert not printed_grouping("630498576360818100", (6, 12))        # UnionPay's 18-digit grouping, not Maestro's
    assert printed_grouping("378282246310005", (4, 6, 5))              # Amex
    assert not printed_grouping("378282246310005", (4, 4, 4, 3))
    assert not printed_grouping("98576360818100", (4, 4, 6))          # no brand: no grouping


def test_expiry_parsing():
    assert parse_expiry("09/27") == "09/27"
    assert parse_expiry("0927") == "09/27"
    assert parse_expiry("13/27") is None
    assert parse_expiry("00/27") is None
    assert parse_expiry("9/27") is None


def test_mask_keeps_at_most_first6_last4():
    assert mask_number("4111111111111111") == "411111******1111"
    assert mask_number("378282246310005") == "378282*****0005"
    assert mask_number("4111 1111 1111 1111") == "411111******1111"
    assert mask_number(None) is None
    assert mask_number("1234567890") == "**********"
