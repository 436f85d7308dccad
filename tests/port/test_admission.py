"""Admission's connection-rate buckets, tested directly (the policies through a worker are in
test_policies.py)."""

from __future__ import annotations

from bridge.port.admission import CONNECT_BURST, ConnectBuckets


def test_a_burst_of_connect_rate_times_the_burst_is_admitted_then_refused() -> None:
    """rate 60: 300 connects at one instant pass, the 301st is refused."""
    buckets = ConnectBuckets(60)
    assert all(buckets.take("10.0.0.1", 100.0) for _ in range(60 * CONNECT_BURST))
    assert not buckets.take("10.0.0.1", 100.0)


def test_two_hundred_connects_within_a_minute_pass_at_the_default_rate() -> None:
    """A test farm: 200 connect/close cycles spread over 60 s, all admitted."""
    buckets = ConnectBuckets(60)
    assert all(buckets.take("10.0.0.2", 1000.0 + i * 0.3) for i in range(200))


def test_the_bucket_refills_at_the_rate_and_refusals_take_nothing() -> None:
    buckets = ConnectBuckets(60)          # one token a second
    for _ in range(60 * CONNECT_BURST):
        buckets.take("h", 0.0)
    assert not buckets.take("h", 0.5)
    assert not buckets.take("h", 0.9)     # a refusal at 0.5 took nothing: still 0.9 tokens
    assert buckets.take("h", 1.0)
    assert not buckets.take("h", 1.0)


def test_addresses_have_their_own_buckets() -> None:
    buckets = ConnectBuckets(1)
    for _ in range(CONNECT_BURST):
        assert buckets.take("a", 0.0)
    assert not buckets.take("a", 0.0)
    assert buckets.take("b", 0.0)
