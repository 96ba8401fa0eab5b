from dfwatch.query import parse, to_fts5, to_simple_query_string


def test_syntax_renders_for_both_stores() -> None:
    p = parse('telegram "seven months" durov OR possession -scam')
    assert to_fts5(p) == ('("telegram") AND ("seven months") AND ("durov" OR "possession") NOT "scam"')
    assert to_simple_query_string(p) == '(telegram) ("seven months") (durov | possession) -scam'


def test_operators_and_fields_in_user_input_are_inert() -> None:
    p = parse('title:x* AND (a|b) NEAR(c d) ~2 \\"')
    assert to_simple_query_string(p) == "(\"title x\") (AND) (\"a b\") (\"NEAR c\") (d) (2)"
    assert "*" not in to_fts5(p) and ":" not in to_fts5(p)  # type: ignore[operator]
    assert not parse("*** ---") and to_fts5(parse("")) is None
