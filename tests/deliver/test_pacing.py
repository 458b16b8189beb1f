"""The per-channel token bucket: a short burst, then one message per second; a hold blocks the channel."""

from __future__ import annotations

from processor.deliver.timing import ChannelPacer
from tests.deliver.fakes import FakeClock


def test_a_burst_of_three_then_one_per_second_per_channel(clock: FakeClock) -> None:
    pacer = ChannelPacer(clock=clock.clock)
    waits = []
    for _ in range(6):
        wait = pacer.wait_time("C1")
        waits.append(round(wait, 6))
        clock.sleep(wait)
        pacer.take("C1")
    assert waits == [0, 0, 0, 1, 1, 1]
    assert pacer.wait_time("C2") == 0  # other channels are paced on their own


def test_a_hold_blocks_the_channel_for_the_retry_after(clock: FakeClock) -> None:
    pacer = ChannelPacer(clock=clock.clock)
    pacer.hold("C1", 30)
    assert pacer.wait_time("C1") == 30
    clock.advance(30)
    assert pacer.wait_time("C1") == 0
