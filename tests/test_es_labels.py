"""The labels an Elasticsearch store keeps between timelines (no node needed)."""

from __future__ import annotations

import threading

from dfwatch.store.es_labels import Labels


def test_a_label_is_kept_for_its_time_then_read_again() -> None:
    now = [100.0]
    labels = Labels(ttl=60, clock=lambda: now[0])
    assert labels.get("Telegram") is None
    labels.put("Telegram", "ORG")
    labels.put("Nobody", "")  # a name without a label is kept too: it is not asked again
    now[0] = 159.9
    assert (labels.get("Telegram"), labels.get("Nobody")) == ("ORG", "")
    now[0] = 160.0
    assert labels.get("Telegram") is None and labels.get("Nobody") is None


def test_the_least_recently_read_names_go_first() -> None:
    labels = Labels(ttl=60, size=2)
    labels.put("a", "ORG")
    labels.put("b", "GPE")
    assert labels.get("a") == "ORG"  # read: b is now the oldest
    labels.put("c", "PERSON")
    assert (labels.get("a"), labels.get("b"), labels.get("c")) == ("ORG", None, "PERSON")


def test_no_time_keeps_nothing_and_clear_forgets() -> None:
    off = Labels(ttl=0)
    off.put("a", "ORG")
    assert off.get("a") is None
    labels = Labels()
    labels.put("a", "ORG")
    labels.clear()
    assert labels.get("a") is None


def test_threads_share_one_store_of_labels() -> None:
    labels = Labels(ttl=60, size=50)

    def work(k: int) -> None:
        for i in range(2000):
            labels.put(f"n{(i * 7 + k) % 80}", "ORG")
            labels.get(f"n{(i * 3 + k) % 80}")
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kept = [name for name in (f"n{i}" for i in range(80)) if labels.get(name) is not None]
    assert 0 < len(kept) <= 50
