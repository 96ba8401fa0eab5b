from dfwatch.query import parse, to_fts5, to_simple_query_string


def test_syntax_renders_for_both_stores() -> None:
    p = parse('telegram "seven months" durov OR possession -scam')
    assert to_fts5(p) == ('("telegram") AND ("seven months") AND ("durov" OR "possession") NOT "scam"')
    assert to_simple_query_string(p) == '(telegram) ("seven months") (durov | possession) -scam'


def test_operators_and_fields_in_user_input_are_inert() -> None:
    p = parse('title:x* AND (a|b) NEAR(c d) ~2 \\"')
    assert to_simple_query_string(p) == "(\"title x\") (\"a b\") (\"NEAR c\") (d) (2)"
    assert "*" not in to_fts5(p) and ":" not in to_fts5(p)  # type: ignore[operator]
    assert not parse("*** ---") and to_fts5(parse("")) is None


def test_boolean_keywords_and_fields() -> None:
    p = parse('telegram AND "seven months" NOT scam durov OR possession source:hanbit-times '
              'entity:"Yoon Suk Yeol" SOURCE:asia-wire -lang:ko NOT topic:law title:x')
    assert p.groups == [[("telegram",)], [("seven", "months")], [("durov",), ("possession",)], [("title", "x")]]
    assert p.excluded == [("scam",)]
    assert p.fields == {"source": ["hanbit-times", "asia-wire"], "entity": ["Yoon Suk Yeol"]}
    assert p.excluded_fields == {"lang": ["ko"], "topic": ["law"]}


def test_fields_alone_are_a_query_without_words() -> None:
    p = parse("country:KR")
    assert not p and p.fields == {"country": ["KR"]} and to_fts5(p) is None
    assert parse('entity:""').fields == {}
