from dfwatch.urls import article_id, canonical_url, is_blocked_host


def test_canonical_url_strips_tracking_and_fragment() -> None:
    a = canonical_url("HTTP://News.Example.com/view?b=2&utm_source=x&a=1&fbclid=zz#comments")
    assert a == "http://news.example.com/view?a=1&b=2"
    assert article_id("http://news.example.com/view?a=1&b=2&utm_medium=rss") == article_id(a)
    assert article_id("http://news.example.com/view?a=2") != article_id(a)


def test_messaging_apps_and_file_hosts_are_blocked() -> None:
    for url in ("https://t.me/+abc", "https://www.mega.nz/file/x", "https://open.kakao.com/o/x",
                "https://discord.gg/x", "https://drive.google.com/file/d/1"):
        assert is_blocked_host(url), url
    for url in ("https://www.telegraph.co.uk/news", "https://news.example.com/t.me"):
        assert not is_blocked_host(url), url
