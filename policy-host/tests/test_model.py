"""Tokenizer, model and sampler without the server."""

import unittest

import torch

from selfplay_host import tokenizer, training
from selfplay_host.model import ModelConfig, build_model, dense
from selfplay_host.policies import Policy
from selfplay_host.protocol import Datum, LossConfig
from selfplay_host.sampling import SamplingParams, generate
from selfplay_host.scoring import chunks

from .helpers import TEST_MODEL


class Tokenizer(unittest.TestCase):
    def test_chat_template(self):
        ids = tokenizer.encode_chat([('system', 'S'), ('user', 'hé')], 100)
        self.assertEqual(ids, [tokenizer.BOS, tokenizer.SYSTEM, 83, tokenizer.END, tokenizer.USER, 104, 0xC3, 0xA9, tokenizer.END, tokenizer.ASSISTANT])

    def test_truncates_from_the_left(self):
        ids = tokenizer.encode_chat([('user', 'abcdefgh')], 5)
        self.assertEqual(ids, [102, 103, 104, tokenizer.END, tokenizer.ASSISTANT])

    def test_decode_and_token_strings(self):
        ids = [*'é!'.encode(), tokenizer.END]
        self.assertEqual(tokenizer.decode(ids), 'é!')
        self.assertEqual(tokenizer.decode([0xC3]), '\ufffd')
        self.assertEqual([tokenizer.token_text(i) for i in ids], ['Ã', '©', '!', '<|end|>'])
        self.assertEqual([tokenizer.token_bytes(i) for i in ids], [[0xC3], [0xA9], [33], []])
        self.assertEqual(tokenizer.encode_completion('ab'), [97, 98, tokenizer.END])


class Model(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = build_model(TEST_MODEL, seed=3, device=torch.device('cpu'))

    def test_seeded_initialisation(self):
        again = build_model(TEST_MODEL, seed=3, device=torch.device('cpu'))
        other = build_model(TEST_MODEL, seed=4, device=torch.device('cpu'))
        self.assertTrue(torch.equal(self.model.embed.weight, again.embed.weight))
        self.assertFalse(torch.equal(self.model.embed.weight, other.embed.weight))

    def test_dense_matches_linear(self):
        x = torch.randn(100, 32)
        w, b = torch.randn(48, 32), torch.randn(48)
        torch.testing.assert_close(dense(x, w, b), torch.nn.functional.linear(x, w, b))
        torch.testing.assert_close(dense(x[:3], w, b), torch.nn.functional.linear(x[:3], w, b))

    def test_scoring_matches_cached_decoding(self):
        """The training path (whole sequences, training.compute_gradients: Tinker's forward) and the sampling path
        (key/value cache) agree, at weighted positions and at weightless ones (scored apart)."""
        policy = Policy('p', TEST_MODEL, seed=3, device=torch.device('cpu'), keep=1)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(policy.model.parameters(), self.model.parameters())))
        sequence = [tokenizer.BOS, 5, 6, 7, tokenizer.ASSISTANT, 8, 9, 10, tokenizer.END]
        tokens, targets = sequence[:-1], sequence[1:]
        cross_entropy = LossConfig('cross_entropy')
        weighted = Datum(tokens, targets, [0.0] * 4 + [1.0] * 4, [0.0] * 8, [0.0] * 8)
        short = Datum([1, 2], [2, 3], [1.0, 0.0], [0.0] * 2, [0.0] * 2)
        out = training.compute_gradients(policy, [weighted, short], cross_entropy, backward=False)

        def logprob(logits, target):
            # A target the model cannot generate (the assistant marker) is reported as float32's lowest value.
            return float(torch.log_softmax(logits, -1)[0, target]) if target < tokenizer.OUTPUT_SIZE else training.FLOAT32_LOWEST

        with torch.no_grad():
            # The prompt token by token; then, as the sampler runs, the prompt at once and the completion token by token.
            cache = self.model.new_cache(1, len(sequence))
            stepped = [logprob(self.model.step(torch.tensor([[tokens[t]]]), cache, t), targets[t]) for t in range(4)]
            cache = self.model.new_cache(1, len(sequence))
            logits = self.model.step(torch.tensor([tokens[:5]]), cache, 0)
            for t in range(4, 8):
                stepped.append(logprob(logits, targets[t]))
                if t + 1 < 8:
                    logits = self.model.step(torch.tensor([[tokens[t + 1]]]), cache, t + 1)
        torch.testing.assert_close(torch.tensor(out.logprobs[0], dtype=torch.float64), torch.tensor(stepped, dtype=torch.float64), atol=1e-5, rtol=0)
        self.assertEqual(out.logprobs[0][3], training.FLOAT32_LOWEST)
        # Weights only choose what is trained: every position scores the same with other weights, or none.
        unweighted = training.compute_gradients(policy, [Datum(tokens, targets, [0.0] * 8, [0.0] * 8, [0.0] * 8)], cross_entropy, backward=False)
        torch.testing.assert_close(torch.tensor(unweighted.logprobs[0]), torch.tensor(out.logprobs[0]), atol=1e-5, rtol=0)
        # Padding in the batch changes nothing: the short row scores as it would alone.
        alone = training.compute_gradients(policy, [short], cross_entropy, backward=False)
        torch.testing.assert_close(torch.tensor(alone.logprobs[0]), torch.tensor(out.logprobs[1]), atol=1e-5, rtol=0)

    def test_chunks_respect_the_budget(self):
        lengths = [10, 50, 20, 50, 5]
        cost = lambda n: n * n
        groups = chunks(lengths, cost, budget=5000)
        self.assertEqual(sorted(i for g in groups for i in g), [0, 1, 2, 3, 4])
        for g in groups:
            self.assertLessEqual(len(g) * cost(max(lengths[i] for i in g)), 5000)
        self.assertEqual(len(groups), 2)  # [5, 10, 20] and [50, 50]: 2 x 2500

    def test_generate_respects_limits_and_tiny_top_p_is_greedy(self):
        prompt = tokenizer.encode_chat([('user', 'hello')], 64)
        greedy = generate(self.model, prompt, SamplingParams(1, 0.0, 1.0, 12, (), 3), torch.Generator().manual_seed(0))[0]
        nucleus = generate(self.model, prompt, SamplingParams(2, 1.0, 1e-9, 12, (), 0), torch.Generator().manual_seed(1))
        for s in nucleus:
            self.assertEqual(s.token_ids, greedy.token_ids)
        self.assertLessEqual(len(greedy.token_ids), 12)
        self.assertEqual(len(greedy.top), len(greedy.token_ids))
        for (token, logprob), top in zip(zip(greedy.token_ids, greedy.logprobs), greedy.top):
            self.assertEqual(top[0][0], token)  # greedy picks the most likely token
            self.assertAlmostEqual(top[0][1], logprob, places=6)
        long_prompt = list(range(120))  # context 128: room for 8 tokens only
        s = generate(self.model, long_prompt, SamplingParams(1, 1.0, 1.0, 50, (), 0), torch.Generator().manual_seed(2))[0]
        if s.finish_reason == 'length':
            self.assertEqual(len(s.token_ids), 8)

    def test_config_is_checked(self):
        with self.assertRaises(ValueError):
            ModelConfig(d_model=30, heads=4)


if __name__ == '__main__':
    unittest.main()
