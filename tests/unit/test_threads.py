"""Per-image loading on one torch thread, the network's work on the threads it had."""

from __future__ import annotations

import torch

from wardrobe.utils.threads import loaded_on_one_thread, torch_threads


def test_batches_are_made_on_one_thread_and_used_on_the_callers_threads():
    made_on = []

    def batches():
        for i in range(3):
            made_on.append(torch.get_num_threads())
            yield i

    with torch_threads(2):
        used_on = [(batch, torch.get_num_threads()) for batch in loaded_on_one_thread(batches())]
        assert torch.get_num_threads() == 2
    assert made_on == [1, 1, 1]
    assert used_on == [(0, 2), (1, 2), (2, 2)]


def test_the_thread_count_comes_back_after_an_error_and_none_leaves_it():
    before = torch.get_num_threads()
    try:
        with torch_threads(1):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
