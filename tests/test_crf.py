"""The constrained CRF: brute force, pytorch-crf agreement, batching, and the BIOES constraints."""

from __future__ import annotations

import itertools

import pytest
import torch
from torchcrf import CRF

from ner.crf import FORBIDDEN, ConstrainedCRF
from ner.tags import allowed_transitions, bioes_labels, to_spans

LABELS = bioes_labels(["LOC", "PER"])  # 9 tags


def _unconstrained(k: int) -> ConstrainedCRF:
    return ConstrainedCRF([True] * k, [True] * k, [[True] * k for _ in range(k)])


def _path_score(crf: ConstrainedCRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    score = crf.start_transitions[path[0]] + emissions[0, path[0]]
    for a, b, i in zip(path, path[1:], range(1, len(path))):
        score = score + crf.transitions[a, b] + emissions[i, b]
    return float((score + crf.end_transitions[path[-1]]).detach())


def _is_valid_bioes(tags: list[str]) -> bool:
    start, end, trans = allowed_transitions(LABELS)
    ids = [LABELS.index(t) for t in tags]
    return start[ids[0]] and end[ids[-1]] and all(trans[a][b] for a, b in zip(ids, ids[1:]))


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_viterbi_matches_brute_force(generator: torch.Generator) -> None:
    crf = _unconstrained(3)
    torch.nn.init.normal_(crf._parameters["transitions"], generator=generator)
    for length in (1, 2, 4):
        em = torch.randn(1, length, 3, generator=generator)
        best = max(itertools.product(range(3), repeat=length), key=lambda p: _path_score(crf, em[0], p))
        assert crf.viterbi(em, torch.ones(1, length, dtype=torch.bool)) == [list(best)]


def test_likelihood_matches_brute_force(generator: torch.Generator) -> None:
    crf = _unconstrained(3)
    em = torch.randn(1, 4, 3, generator=generator)
    scores = torch.tensor([_path_score(crf, em[0], p) for p in itertools.product(range(3), repeat=4)])
    tags = torch.tensor([[0, 2, 1, 1]])
    expected = torch.logsumexp(scores, 0) - _path_score(crf, em[0], (0, 2, 1, 1))
    nll = crf.nll(em, tags, torch.ones(1, 4, dtype=torch.bool))
    assert torch.allclose(nll, expected, atol=1e-4)


def test_unconstrained_viterbi_equals_pytorch_crf_decode(generator: torch.Generator) -> None:
    crf = _unconstrained(5)
    reference = CRF(5, batch_first=True)
    reference.load_state_dict(crf.state_dict())
    em = torch.randn(6, 7, 5, generator=generator)
    lengths = torch.tensor([7, 1, 3, 7, 5, 2])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)
    assert crf.viterbi(em, mask) == reference.decode(em, mask)


def test_batched_equals_one_by_one(generator: torch.Generator) -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    em = torch.randn(5, 9, len(LABELS), generator=generator)
    lengths = torch.tensor([9, 4, 1, 6, 8])
    mask = torch.arange(9).unsqueeze(0) < lengths.unsqueeze(1)
    batched = crf.viterbi(em, mask)
    for i, n in enumerate(lengths.tolist()):
        assert crf.viterbi(em[i : i + 1, :n], torch.ones(1, n, dtype=torch.bool)) == [batched[i]]


def test_constrained_decode_never_emits_a_forbidden_transition(generator: torch.Generator) -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    # Large random transition weights and emissions push hard towards invalid paths.
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_(0, 50.0, generator=generator)
    for _ in range(20):
        em = torch.randn(8, 12, len(LABELS), generator=generator) * 50
        lengths = torch.randint(1, 13, (8,), generator=generator)
        mask = torch.arange(12).unsqueeze(0) < lengths.unsqueeze(1)
        for path in crf.viterbi(em, mask) + crf.decode(em, mask):
            tags = [LABELS[i] for i in path]
            assert _is_valid_bioes(tags), tags
            assert to_spans(tags, "bioes")[1] == []


def test_forbidden_entries_are_pinned_and_get_no_gradient() -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    o, b_loc, i_loc, e_per = (LABELS.index(t) for t in ("O", "B-LOC", "I-LOC", "E-PER"))
    assert crf.transitions[o, i_loc] == FORBIDDEN
    assert crf.transitions[b_loc, o] == FORBIDDEN
    assert crf.start_transitions[e_per] == FORBIDDEN
    assert crf.end_transitions[b_loc] == FORBIDDEN
    assert crf.transitions[b_loc, i_loc] != FORBIDDEN
    em = torch.randn(2, 5, len(LABELS))
    tags = torch.tensor([[0, 1, 2, 3, 0], [4, 0, 0, 0, 0]])
    crf.nll(em, tags, torch.ones(2, 5, dtype=torch.bool)).backward()
    grad = crf._parameters["transitions"].grad
    assert grad is not None and torch.all(grad[crf.trans_forbidden] == 0)
    # The raw parameter may hold anything there; what the CRF reads stays pinned.
    with torch.no_grad():
        crf._parameters["transitions"].fill_(5.0)
    assert crf.transitions[o, i_loc] == FORBIDDEN


def test_empty_batch_dimension_and_single_token() -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    assert crf.viterbi(torch.zeros(2, 0, len(LABELS)), torch.zeros(2, 0, dtype=torch.bool)) == [[], []]
    path = crf.viterbi(torch.randn(1, 1, len(LABELS)), torch.ones(1, 1, dtype=torch.bool))[0]
    assert LABELS[path[0]][0] in "OS"


def _all_paths(crf: ConstrainedCRF, emissions: torch.Tensor) -> list[tuple[tuple[int, ...], float]]:
    k = emissions.shape[1]
    return [(p, _path_score(crf, emissions, p)) for p in itertools.product(range(k), repeat=emissions.shape[0])]


@pytest.mark.parametrize("constrained", [False, True])
def test_posteriors_match_brute_force(generator: torch.Generator, constrained: bool) -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS)) if constrained else _unconstrained(4)
    k = crf.num_tags
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    emissions = torch.randn(1, 4, k, generator=generator)
    mask = torch.ones(1, 4, dtype=torch.bool)
    with torch.no_grad():
        post = crf.posteriors(emissions, mask)
    paths = _all_paths(crf, emissions[0])
    log_z = torch.logsumexp(torch.tensor([s for _, s in paths], dtype=torch.float64), 0)
    assert post.log_z[0].item() == pytest.approx(float(log_z), abs=1e-3)
    # pytorch-crf's own normaliser agrees.
    reference = crf._compute_normalizer(emissions.transpose(0, 1), mask.T).detach()
    assert post.log_z[0].item() == pytest.approx(reference.item())
    probs = {p: float(torch.exp(torch.tensor(s, dtype=torch.float64) - log_z)) for p, s in paths}
    marginals = post.marginals()[0]
    assert torch.allclose(marginals.sum(dim=1), torch.ones(4, dtype=marginals.dtype), atol=1e-5)
    for t, tag in itertools.product(range(4), range(k)):
        expected = sum(pr for p, pr in probs.items() if p[t] == tag)
        assert float(marginals[t, tag]) == pytest.approx(expected, abs=1e-5)
    # Segment probabilities: every (start, tags) of lengths 1..3 at a few positions.
    for start, length in [(0, 1), (1, 2), (0, 3), (2, 2), (1, 3)]:
        for tags in itertools.islice(itertools.product(range(k), repeat=length), 0, None, 7):
            expected = sum(pr for p, pr in probs.items() if p[start : start + length] == tags)
            got = torch.exp(torch.tensor(post.segment_log_prob(0, start, list(tags)))).item()
            assert got == pytest.approx(expected, abs=1e-5)


def test_posteriors_batched_equal_one_by_one_and_ignore_padding(generator: torch.Generator) -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    lengths = [5, 2, 1, 4]
    emissions = torch.randn(len(lengths), 5, crf.num_tags, generator=generator)
    mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        batched = crf.posteriors(emissions, mask)
    marginals = batched.marginals()
    for r, n in enumerate(lengths):
        with torch.no_grad():
            single = crf.posteriors(emissions[r : r + 1, :n], mask[r : r + 1, :n])
        assert torch.allclose(batched.log_z[r], single.log_z[0], atol=1e-4)
        assert torch.allclose(marginals[r, :n], single.marginals()[0], atol=1e-5)
        assert float(marginals[r, n:].abs().sum()) == 0.0
        assert batched.segment_log_prob(r, 0, [0] * n) == pytest.approx(single.segment_log_prob(0, 0, [0] * n))
    # Constrained: forbidden tags (an I- or E- first) get zero probability.
    first = marginals[:, 0]
    starts, _, _ = allowed_transitions(LABELS)
    assert float(first[:, [i for i, ok in enumerate(starts) if not ok]].max()) < 1e-6


def test_segment_log_probs_equal_one_at_a_time_on_viterbi_paths(generator: torch.Generator) -> None:
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    lengths = [6, 3, 1, 5]
    emissions = torch.randn(len(lengths), 6, crf.num_tags, generator=generator) * 3
    mask = torch.arange(6)[None, :] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        post = crf.posteriors(emissions, mask)
        paths = crf.viterbi_paths(emissions, mask)
    assert [row[:n] for row, n in zip(paths.tolist(), lengths)] == crf.viterbi(emissions, mask)
    segments = [(r, s, e) for r, n in enumerate(lengths) for s in range(n) for e in range(s + 1, n + 1)]
    rows, starts, ends = (torch.tensor(c) for c in zip(*segments))
    batched = post.segment_log_probs(paths, rows, starts, ends)
    for (r, s, e), got in zip(segments, batched.tolist()):
        assert got == pytest.approx(post.segment_log_prob(r, s, paths[r, s:e].tolist()), abs=1e-9)
    assert post.segment_log_probs(paths, *(torch.zeros(0, dtype=torch.long),) * 3).shape == (0,)


def test_posteriors_survive_scores_far_apart(generator: torch.Generator) -> None:
    # Emissions hundreds of nats apart: tags far below the best must not turn the sums into NaN or -inf.
    crf = ConstrainedCRF(*allowed_transitions(LABELS))
    emissions = torch.randn(2, 12, crf.num_tags, generator=generator) * 200
    mask = torch.ones(2, 12, dtype=torch.bool)
    with torch.no_grad():
        post = crf.posteriors(emissions, mask)
        reference = crf._compute_normalizer(emissions.transpose(0, 1), mask.T)
    assert torch.isfinite(post.log_z).all()
    assert torch.allclose(post.log_z.float(), reference, rtol=1e-5)
    assert torch.allclose(post.marginals().sum(dim=2), torch.ones(2, 12, dtype=torch.float64), atol=1e-6)
