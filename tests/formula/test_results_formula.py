from pocketocr import Formula, FormulaResult


def test_formula_result_round_trip():
    r = FormulaResult([Formula((1.0, 2.0, 30.5, 14.0), "embedded", 0.91), Formula((5, 40, 300, 70), "isolated", 0.8)],
                      width=640, height=900, timings_ms={"pre": 1.0, "infer": 2.0, "post": 0.5, "total": 3.5})
    d = r.to_dict()
    assert d["formulas"][0] == {"box": [1.0, 2.0, 30.5, 14.0], "kind": "embedded", "score": 0.91}
    back = FormulaResult.from_dict(d)
    assert back == FormulaResult.from_dict(__import__("json").loads(r.to_json()))
    assert back.formulas[1].box == (5.0, 40.0, 300.0, 70.0)
    assert (back.width, back.height) == (640, 900)
