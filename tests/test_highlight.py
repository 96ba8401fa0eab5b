from dfwatch.search.highlight import POST, PRE, clean, to_html


def test_crawled_markup_is_escaped_before_marks_are_added() -> None:
    fragment = f'<script>alert(1)</script> {PRE}deepfake{POST} & <img src=x onerror="y">'
    assert to_html(fragment) == ('&lt;script&gt;alert(1)&lt;/script&gt; <mark>deepfake</mark> &amp; '
                                 '&lt;img src=x onerror=&quot;y&quot;&gt;')


def test_sentinels_in_crawled_text_cannot_forge_marks() -> None:
    assert clean(f"a{PRE}b{POST}c") == "abc"
