"""The timing harness every suite shares: interleaved runs whose order changes from round to round."""
from benchmarks.harness import interleaved_medians


def test_interleaved_runs_change_order_so_no_contender_always_follows_the_same_one():
    calls = []
    medians = interleaved_medians({name: (lambda name=name: calls.append(name)) for name in "abcd"},
                                  repeats=12, warmup=1)
    assert set(medians) == set("abcd")
    assert all(calls.count(name) == 13 for name in "abcd")  # one warm-up and 12 timed runs each
    timed = calls[4:]
    rounds = [timed[i:i + 4] for i in range(0, len(timed), 4)]
    assert all(sorted(r) == list("abcd") for r in rounds)  # every round runs each contender once
    predecessors = {name: {timed[i - 1] for i in range(1, len(timed)) if timed[i] == name} for name in "abcd"}
    assert all(len(p) > 1 for p in predecessors.values())
