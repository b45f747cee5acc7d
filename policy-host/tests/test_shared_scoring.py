"""Guided choices score each prompt once, its choices after it in one row (scoring.make_shared_batch): the
logprobs, scores and probabilities must be those of scoring every (prompt, choice) pair in its own row, as
training does (training.compute_gradients, Tinker's forward)."""

import math
import random
import unittest
from unittest import mock

import torch

from selfplay_host import sampling, scoring, tokenizer, training
from selfplay_host.model import ModelConfig
from selfplay_host.policies import Policy
from selfplay_host.protocol import Datum, LossConfig
from selfplay_host.scoring import log_probs, make_datum_batch, shared_rows

from .helpers import TEST_MODEL

ATOL = 1e-5


def sharpened(cfg: ModelConfig, seed: int) -> Policy:
    """A policy with large random weights: peaked distributions that depend strongly on what each token attends to,
    so a completion that saw another completion's tokens, or the wrong positions, would score visibly differently."""
    policy = Policy('sharp', cfg, seed, torch.device('cpu'), keep=1)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in policy.model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return policy


def pairwise(policy, prompt: list[int], completions: list[list[int]], top: int = 0):
    """What training computes: one datum per (prompt, completion), the completion's logprobs from
    training.compute_gradients (Tinker's forward), and the `top` most likely tokens at its positions."""
    skip = len(prompt) - 1
    data = [Datum(prompt + c[:-1], prompt[1:] + c, [0.0] * skip + [1.0] * len(c), [0.0] * (skip + len(c)), [0.0] * (skip + len(c))) for c in completions]
    scored = training.compute_gradients(policy, data, LossConfig('cross_entropy'), backward=False).logprobs
    out = []
    with torch.no_grad():
        for d, lps in zip(data, scored):
            tops = None
            if top:
                batch = make_datum_batch([(d.tokens, d.targets)], torch.device('cpu'))
                tops = log_probs(policy.model, batch)[0, skip:].topk(top, dim=-1)
            out.append((lps[skip:], tops))
    return out


def random_text(rng: random.Random, length: int) -> str:
    return ''.join(rng.choice('abcdefghij[]() ') for _ in range(length))


def random_prompt(rng: random.Random, length: int) -> list[int]:
    return [rng.randrange(tokenizer.VOCAB_SIZE) for _ in range(length)]


class SharedScoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.policy = sharpened(TEST_MODEL, 5)
        cls.model = cls.policy.model
        cls.context = TEST_MODEL.context
        rng = random.Random(11)
        cases = []
        # (prompt length, choice byte lengths): one choice, a single-token choice (END only), choices of different
        # lengths, many choices, prompts at the context limit, choices that need several rows per prompt.
        shapes = [
            (1, [0]),
            (5, [3]),
            (20, [0, 1, 7, 2]),
            (40, [6, 6, 6]),
            (60, [rng.randrange(0, 12) for _ in range(40)]),
            (cls.context - 1, [0]),
            (cls.context - 8, [7, 0, 3]),
            (cls.context - 30, [29, 29, 28, 1, 29, 15, 29, 29, 29, 29, 29]),
            (10, [100] * 5),
        ]
        shapes += [(rng.randrange(1, cls.context - 20), [rng.randrange(0, 20) for _ in range(rng.randrange(1, 6))]) for _ in range(40)]
        for prompt_length, lengths in shapes:
            assert prompt_length + max(lengths) + 1 <= cls.context
            choices = list(dict.fromkeys(random_text(rng, n) for n in lengths))
            cases.append((random_prompt(rng, prompt_length), choices))
        rng.shuffle(cases)
        cls.cases = cases
        cls.expected = [pairwise(cls.policy, p, [tokenizer.encode_completion(c) for c in cs], top=3) for p, cs in cases]

    def test_rows_split_only_when_choices_overflow(self):
        rows = shared_rows([(p, [tokenizer.encode_completion(c) for c in cs]) for p, cs in self.cases], 2 * self.context)
        self.assertEqual(sorted(k for i, ks in rows for k in ks if i == 0), list(range(len(self.cases[0][1]))))
        self.assertGreater(len(rows), len(self.cases))  # some prompt's choices fill more than one row
        for i, ks in rows:
            prompt, choices = self.cases[i]
            if len(ks) > 1:
                self.assertLessEqual(len(prompt) + sum(len(choices[k].encode()) for k in ks), 2 * self.context)

    def check_token_logprobs(self):
        items = [(p, [tokenizer.encode_completion(c) for c in cs]) for p, cs in self.cases]
        scored = sampling.score_choices(self.model, items, top_logprobs=3)
        for (prompt, completions), got, expected in zip(items, scored, self.expected):
            self.assertEqual(len(got), len(completions))
            for c, (lps, top), (want, want_top) in zip(completions, got, expected):
                self.assertEqual(len(lps), len(c))
                torch.testing.assert_close(torch.tensor(lps), torch.tensor(want), atol=ATOL, rtol=0)
                self.assertEqual(len(top), len(c))
                torch.testing.assert_close(torch.tensor([[v for _, v in t] for t in top]), want_top.values[:len(c)], atol=ATOL, rtol=0)

    def test_token_logprobs_match_pairwise_scoring(self):
        self.check_token_logprobs()

    def test_token_logprobs_match_in_many_small_forward_passes(self):
        with mock.patch.object(scoring, 'ACTIVATION_BUDGET', 3000):
            self.check_token_logprobs()

    def test_choice_probabilities_match_pairwise_scoring(self):
        for scoring in ('sum', 'mean'):
            for temperature in (1.0, 0.3, 0.0):
                with self.subTest(scoring=scoring, temperature=temperature):
                    got = sampling.choice_probabilities(self.model, self.cases, temperature, scoring)
                    for probabilities, expected in zip(got, self.expected):
                        scores = [sum(lps) / (len(lps) if scoring == 'mean' else 1) for lps, _ in expected]
                        expected = sampling.choice_weights(torch.tensor(scores, dtype=torch.float64), temperature)
                        torch.testing.assert_close(torch.tensor(probabilities, dtype=torch.float64), expected, atol=ATOL, rtol=0)

    def test_constrained_scoring_is_constrained_decoding(self):
        """A choice's constrained score is the sum, over its tokens, of the model's next-token logprob renormalised
        over the tokens that some choice with the same tokens before takes: here from the model's whole
        distribution at every prefix, each prefix run on its own."""
        rng = random.Random(3)
        sets = [['[check]', '[call]', '[c]', '[bet]'], ['<Answer>Correct</Answer>', '<Answer>Incorrect</Answer>'], ['[0]', '[1]', '[10]', '[2]'], ['a', 'ab', 'abc'], ['alone']]
        for choices in sets:
            prompt = random_prompt(rng, 12)
            sequences = [tokenizer.encode_completion(c) for c in choices]
            want = []
            with torch.no_grad():
                for seq in sequences:
                    total = 0.0
                    for k in range(len(seq)):
                        allowed = sorted({other[k] for other in sequences if len(other) > k and other[:k] == seq[:k]})
                        tokens = prompt + seq[:k]
                        dist = log_probs(self.model, make_datum_batch([(tokens, [0] * len(tokens))], torch.device('cpu')))[0, -1].double()
                        total += float(dist[seq[k]] - torch.logsumexp(dist[allowed], 0))
                    want.append(total)
            with self.subTest(choices=choices):
                scored = sampling.score_choices(self.model, [(prompt, sequences)])[0]
                got = sampling.choice_scores(sequences, [lps for lps, _ in scored], 'constrained')
                torch.testing.assert_close(torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64), atol=ATOL, rtol=0)
                # A trie's renormalised steps: the probabilities at temperature 1 sum to one before any softmax.
                self.assertAlmostEqual(sum(math.exp(s) for s in want), 1.0, places=6)
                for temperature in (1.0, 0.5):
                    probabilities = sampling.choice_probabilities(self.model, [(prompt, choices)], temperature, 'constrained')[0]
                    expected = torch.softmax(torch.tensor(want, dtype=torch.float64) / temperature, dim=0)
                    torch.testing.assert_close(torch.tensor(probabilities, dtype=torch.float64), expected, atol=ATOL, rtol=0)

    def test_guided_choice_returns_the_pairwise_logprobs(self):
        case = max(range(len(self.cases)), key=lambda i: len(self.cases[i][1]))
        prompt, choices = self.cases[case]
        samples = sampling.choose(self.model, prompt, choices, 20, 1.0, 2, torch.Generator().manual_seed(0), 'mean')
        expected = dict(zip(choices, self.expected[case]))
        self.assertGreater(len({s.text for s in samples}), 1)
        for s in samples:
            self.assertEqual(s.token_ids, tokenizer.encode_completion(s.text))
            want, want_top = expected[s.text]
            torch.testing.assert_close(torch.tensor(s.logprobs), torch.tensor(want), atol=ATOL, rtol=0)
            self.assertEqual([[i for i, _ in t] for t in s.top], want_top.indices[:, :2].tolist())


if __name__ == '__main__':
    unittest.main()
