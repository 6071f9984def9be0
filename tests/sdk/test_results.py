import json

from pocketocr.results import CardResult, FieldBox


def test_card_result_round_trip():
    r = CardResult("4111111111111111", "09/27", "visa", True, {"number": 0.98, "expiry": 0.9}, False,
                   {"number": [FieldBox((1.0, 2.0, 3.0, 4.0), ((1.0, 2.0), (3.0, 2.0), (3.0, 4.0), (1.0, 4.0)))],
                    "expiry": []}, {"total": 5.0})
    back = CardResult.from_dict(json.loads(r.to_json()))
    assert back == r
