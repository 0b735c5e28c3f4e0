"""Beam reordering of the decoder state into reused buffers gives what a fresh copy gives, step
after step, while rows are dropped and the keys/values grow."""
import torch

from lsra_fairseq.export.decoder_step import DecoderState, ReorderBuffers


def random_state(rows: int, capacity: int, rings=(2, 0, 30)) -> DecoderState:
    L, heads, d, channels = len(rings), 2, 3, 5
    return DecoderState(torch.randn(L, rows, heads, d, capacity), torch.randn(L, rows, heads, capacity, d),
                        torch.randn(sum(rings), rows, channels), rings)


def fresh_reorder(state: DecoderState, order: torch.Tensor) -> DecoderState:
    return DecoderState(*(x.index_select(1, order) for x in state[:3]), state.ring_sizes)


def test_reordering_into_reused_buffers_equals_a_fresh_copy():
    torch.manual_seed(0)
    buffers = ReorderBuffers()
    state = random_state(rows=8, capacity=4)
    expected = DecoderState(*(x.clone() for x in state[:3]), state.ring_sizes)
    orders = [[1, 1, 0, 3, 2, 5, 7, 7], [0, 0, 2, 2, 4, 4, 6, 6], [2, 3, 4, 5, 6, 7],  # 8 -> 6 rows
              "grow", [5, 4, 3, 2, 1, 0], [1, 1, 3, 3], [0, 1, 2, 3]]
    for order in orders:
        if order == "grow":
            state, expected = state.extended(7), expected.extended(7)
            continue
        order = torch.tensor(order)
        state, expected = buffers.reorder(state, order), fresh_reorder(expected, order)
        for got, want in zip(state[:3], expected[:3]):
            assert torch.equal(got, want)
