"""Progress told every so often while items pass through, not after each one."""

from csvflow.progress import telling_progress


def test_progress_is_told_once_the_interval_has_gone_by():
    now = [0.0]
    told: list[float] = []
    items = iter(range(6))

    def tick():
        for item in items:
            now[0] += 4.0  # each item takes four seconds
            yield item

    passed = list(
        telling_progress(
            tick(), lambda: told.append(now[0]), every_seconds=10, clock=lambda: now[0]
        )
    )

    assert passed == [0, 1, 2, 3, 4, 5]
    assert told == [12.0, 24.0]  # after the items that crossed 10 s since the last telling


def test_zero_seconds_tells_after_every_item():
    told = []
    list(telling_progress(range(3), lambda: told.append(1), every_seconds=0))
    assert len(told) == 3
