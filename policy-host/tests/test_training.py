"""Training steps without the server (training.compute_gradients and apply_gradients, what Tinker's
forward_backward and optim_step run): losses, and that a rejected step changes nothing."""

import copy
import random
import unittest
from unittest import mock

import torch

from selfplay_host import tokenizer, training
from selfplay_host.policies import Policy
from selfplay_host.protocol import Datum, LossConfig, OptimConfig
from selfplay_host.scoring import chunks

from .helpers import TEST_MODEL

ADAM = OptimConfig(learning_rate=1e-2, weight_decay=0.0, max_grad_norm=1.0, beta1=0.9, beta2=0.95, eps=1e-8)


def sequence(prompt: list[int], completion: list[int], logprobs: list[float] | None = None, advantage: float = 0.0) -> Datum:
    """`completion` after `prompt` as a datum: weighted on the completion only, its sampler logprobs and advantage."""
    pad = [0.0] * (len(prompt) - 1)
    n = len(completion)
    return Datum(tokens=prompt + completion[:-1], targets=prompt[1:] + completion, weights=pad + [1.0] * n,
                 logprobs=pad + (logprobs or [0.0] * n), advantages=pad + [advantage] * n)


def current_logprobs(policy, prompt, completion):
    """The completion's logprobs under the training weights, as Tinker's forward computes them."""
    out = training.compute_gradients(policy, [sequence(prompt, completion)], LossConfig('cross_entropy'), backward=False)
    return out.logprobs[0][len(prompt) - 1:]


def snapshot(policy):
    return [p.detach().clone() for p in policy.model.parameters()], copy.deepcopy(policy.optimizer.state_dict()), policy.version


class Losses(unittest.TestCase):
    def test_objectives(self):
        new = torch.log(torch.tensor([[1.5, 0.5, 1.0]]))
        old = torch.zeros(1, 3)
        adv = torch.tensor([[1.0, -1.0, 2.0]])
        mask = torch.ones(1, 3)
        obj, ratio, clipped, truncated = training.loss_terms(new, old, adv, mask, LossConfig('importance_sampling'))
        torch.testing.assert_close(obj, torch.tensor([[1.5, -0.5, 2.0]]))
        self.assertEqual(clipped.tolist(), [[True, True, False]])
        self.assertEqual(truncated.tolist(), [[False, False, False]])
        obj, _, _, _ = training.loss_terms(new, old, adv, mask, LossConfig('ppo'))
        torch.testing.assert_close(obj, torch.tensor([[1.2, -0.8, 2.0]]))

    def test_truncated_importance_weights(self):
        # Sampled at logprobs `old`, now at `new`: ratios 3, 0.5, 1.2 and 2; with the cap at 1.5 the gradient of
        # each token's objective with respect to its new logprob is min(ratio, 1.5) * advantage (by hand:
        # 1.5 * 1, 0.5 * -2, 1.2 * 0.5, 1.5 * -1), and its value min(ratio, 1.5) * advantage too.
        old = torch.log(torch.tensor([[0.1, 0.4, 0.5, 0.2]]))
        new = torch.log(torch.tensor([[0.3, 0.2, 0.6, 0.4]])).requires_grad_(True)
        adv = torch.tensor([[1.0, -2.0, 0.5, -1.0]])
        mask = torch.ones(1, 4)
        obj, ratio, _, truncated = training.loss_terms(new, old, adv, mask, LossConfig('importance_sampling', ratio_cap=1.5))
        torch.testing.assert_close(ratio.detach(), torch.tensor([[3.0, 0.5, 1.2, 2.0]]))
        self.assertEqual(truncated.tolist(), [[True, False, False, True]])
        torch.testing.assert_close(obj.detach(), torch.tensor([[1.5, -1.0, 0.6, -1.5]]))
        (grad,) = torch.autograd.grad(obj.sum(), new)
        torch.testing.assert_close(grad, torch.tensor([[1.5, -1.0, 0.6, -1.5]]))
        # Without the cap the weights are the ratios themselves.
        obj, _, _, _ = training.loss_terms(new, old, adv, mask, LossConfig('importance_sampling'))
        (grad,) = torch.autograd.grad(obj.sum(), new)
        torch.testing.assert_close(grad, torch.tensor([[3.0, -1.0, 0.6, -2.0]]))

    def test_k3_is_zero_at_equality_and_positive_elsewhere(self):
        self.assertEqual(float(training.k3(torch.tensor(0.0))), 0.0)
        self.assertGreater(float(training.k3(torch.tensor(0.3))), 0.0)
        self.assertGreater(float(training.k3(torch.tensor(-0.3))), 0.0)


class Steps(unittest.TestCase):
    def setUp(self):
        self.policy = Policy('p', TEST_MODEL, seed=1, device=torch.device('cpu'), keep=3)
        self.prompt, self.completion = [257, 259, 65, 66, 256, 260], [67, 68, 256]
        self.old = current_logprobs(self.policy, self.prompt, self.completion)

    def data(self, advantage):
        return [sequence(self.prompt, self.completion, self.old, advantage)]

    def test_a_step_moves_logprobs_with_the_advantage(self):
        for advantage in (1.0, -1.0):
            with self.subTest(advantage=advantage):
                policy = Policy('p', TEST_MODEL, seed=1, device=torch.device('cpu'), keep=3)
                params, _, _ = snapshot(policy)
                out = training.compute_gradients(policy, self.data(advantage), LossConfig('importance_sampling'))
                # Sums over the three weighted tokens, at ratio 1 (the sampler's logprobs are the weights').
                self.assertEqual(out.weight, 3.0)
                self.assertAlmostEqual(out.sums['ratio'], 3.0, places=5)
                self.assertEqual(out.sums['clipped'], 0.0)
                self.assertAlmostEqual(out.loss, -3.0 * advantage, places=5)
                self.assertEqual(len(out.logprobs[0]), len(self.prompt) + len(self.completion) - 1)
                torch.testing.assert_close(torch.tensor(out.logprobs[0][-3:]), torch.tensor(self.old), rtol=0, atol=0)
                # Computing the gradients does not touch the weights; applying them does.
                self.assertTrue(all(torch.equal(p, saved) for p, saved in zip(policy.model.parameters(), params)))
                training.apply_gradients(policy, out.grads, ADAM)
                self.assertEqual(policy.version, 1)
                moved = sum(current_logprobs(policy, self.prompt, self.completion)) - sum(self.old)
                self.assertGreater(advantage * moved, 0)

    def test_non_finite_loss_changes_nothing(self):
        training.apply_gradients(self.policy, training.compute_gradients(self.policy, self.data(1.0), LossConfig('importance_sampling')).grads, ADAM)
        params, state, version = snapshot(self.policy)
        for advantage in (3e38, -3e38):
            with self.assertRaises(training.StepRejected) as caught:
                training.compute_gradients(self.policy, self.data(advantage), LossConfig('importance_sampling'))
            self.assertEqual(caught.exception.status, 422)
        self.assert_unchanged(params, state, version)

    def test_non_finite_weights_after_the_optimizer_are_rolled_back(self):
        grads = training.compute_gradients(self.policy, self.data(1.0), LossConfig('importance_sampling')).grads
        training.apply_gradients(self.policy, grads, ADAM)
        params, state, version = snapshot(self.policy)
        real_step = self.policy.optimizer.step

        def poisoned_step():
            real_step()
            with torch.no_grad():
                next(self.policy.model.parameters())[0, 0] = float('nan')

        self.policy.optimizer.step = poisoned_step
        with self.assertRaises(training.StepRejected):
            training.apply_gradients(self.policy, grads, ADAM)
        del self.policy.optimizer.step
        self.assert_unchanged(params, state, version)
        self.assertTrue(all(p.grad is None for p in self.policy.model.parameters()))

    def test_non_finite_gradients_are_rejected(self):
        grads = [torch.full_like(p, float('inf')) for p in self.policy.model.parameters()]
        params, state, version = snapshot(self.policy)
        with self.assertRaises(training.StepRejected):
            training.apply_gradients(self.policy, grads, ADAM)
        self.assert_unchanged(params, state, version)

    def assert_unchanged(self, params, state, version):
        self.assertEqual(self.policy.version, version)
        for p, saved in zip(self.policy.model.parameters(), params):
            self.assertTrue(torch.equal(p, saved))
        now = self.policy.optimizer.state_dict()
        self.assertEqual(now['param_groups'], state['param_groups'])
        for key, values in state['state'].items():
            for name, value in values.items():
                self.assertTrue(torch.equal(torch.as_tensor(now['state'][key][name]), torch.as_tensor(value)), name)


class SharedPrefixes(unittest.TestCase):
    """Weightless positions are scored once per distinct (prefix, target): what every datum gets back must still
    be its own logprobs, as a forward pass over that datum alone gives them."""

    def setUp(self):
        self.policy = Policy('p', TEST_MODEL, seed=3, device=torch.device('cpu'), keep=3)
        rng = random.Random(5)
        stems = [[257, 259] + [rng.randrange(32, 127) for _ in range(rng.randrange(3, 12))] for _ in range(3)]
        self.data = []
        for i in range(40):
            tokens = list(rng.choice(stems)) + [rng.randrange(32, 127) for _ in range(rng.randrange(0, 6))] + [256, 260]
            # Targets differ where prefixes agree (the next token, or not); some cannot be generated; a few positions carry weight.
            targets = [rng.choice([tokens[t + 1] if t + 1 < len(tokens) else 65, rng.randrange(32, 127), 260]) for t in range(len(tokens))]
            weights = [1.0 if rng.random() < 0.2 and targets[t] < tokenizer.OUTPUT_SIZE else 0.0 for t in range(len(tokens))]
            self.data.append(Datum(tokens=tokens, targets=targets, weights=weights, logprobs=[-1.0] * len(tokens), advantages=[0.5 - i % 2] * len(tokens)))

    def alone(self, datum: Datum) -> torch.Tensor:
        with torch.no_grad():
            logits = self.policy.model.score(torch.tensor([datum.tokens]), torch.arange(len(datum.tokens)).unsqueeze(0))[0]
        targets = torch.tensor(datum.targets)
        generable = targets < tokenizer.OUTPUT_SIZE
        chosen = torch.log_softmax(logits.float(), dim=-1).gather(-1, torch.where(generable, targets, 0).unsqueeze(-1)).squeeze(-1)
        return chosen.masked_fill(~generable, training.FLOAT32_LOWEST)

    def test_every_datum_gets_its_own_logprobs(self):
        budgets = {'one pass': None, 'many passes': 4_000}
        for name, budget in budgets.items():
            for backward in (True, False):
                with self.subTest(passes=name, backward=backward), mock.patch.object(training, 'chunks', lambda lengths, cost: chunks(lengths, cost, budget)):
                    out = training.compute_gradients(self.policy, self.data, LossConfig('importance_sampling'), backward=backward)
                    for datum, got in zip(self.data, out.logprobs):
                        torch.testing.assert_close(torch.tensor(got), self.alone(datum), rtol=0, atol=1e-5)

    def test_shared_positions_are_scored_once(self):
        scored = []
        original = training._score_fresh
        with mock.patch.object(training, '_score_fresh', lambda *a: scored.append(sum(map(len, a[3]))) or original(*a)):
            training.compute_gradients(self.policy, self.data, LossConfig('importance_sampling'), backward=False)
        distinct = {(tuple(d.tokens[:t + 1]), d.targets[t]) for d in self.data for t in range(len(d.tokens)) if d.weights[t] == 0}
        self.assertEqual(sum(scored), len(distinct))
        self.assertLess(len(distinct), sum(w == 0 for d in self.data for w in d.weights))


class PackedPrompts(unittest.TestCase):
    """Datums that share a prompt (one state's moves) run it once, their remaining tokens side by side in one row:
    gradients, loss and logprobs must be what each datum alone gives."""

    def setUp(self):
        self.policy = Policy('p', TEST_MODEL, seed=4, device=torch.device('cpu'), keep=3)
        rng = random.Random(7)
        self.data = []
        for state in range(9):
            prompt = [257, 259] + [rng.randrange(32, 127) for _ in range(rng.randrange(4, 20))]
            for _ in range(1 if state % 4 == 0 else rng.randrange(2, 5)):
                move = [rng.randrange(32, 127) for _ in range(rng.randrange(1, 5))] + [260]
                tokens = prompt + move[:-1]
                n = len(tokens)
                weights = [0.0] * (len(prompt) - 1) + [1.0] * len(move)
                self.data.append(Datum(tokens=tokens, targets=tokens[1:] + move[-1:], weights=weights[:n],
                                       logprobs=[rng.uniform(-4, -0.1) for _ in range(n)], advantages=[rng.uniform(-1, 1) for _ in range(n)]))
        # A datum with no weight at all shares nothing and is still scored.
        self.data.append(Datum(tokens=[257, 259, 65, 66], targets=[259, 65, 66, 67], weights=[0.0] * 4, logprobs=[0.0] * 4, advantages=[0.0] * 4))

    def test_rows_hold_each_prompt_once_and_every_datum_once(self):
        for width in (10_000, 24):
            with self.subTest(width=width):
                rows = training.pack_rows(self.data, width)
                self.assertEqual(sorted(i for row in rows for i in row.members), list(range(len(self.data))))
                self.assertLess(len(rows), len(self.data))
                for row in rows:
                    self.assertTrue(len(row.members) == 1 or row.length <= width)
                    flat = row.prompt + [t for tail in row.tails for t in tail]
                    for i, place in zip(row.members, row.places):
                        self.assertEqual([flat[c] for c in place], self.data[i].tokens)

    def test_gradients_loss_and_logprobs_equal_each_datum_alone(self):
        cfg = LossConfig('ppo', kl_coef=0.1, ratio_cap=1.5)
        together = training.compute_gradients(self.policy, self.data, cfg)
        alone = [training.compute_gradients(self.policy, [d], cfg) for d in self.data]
        for k, grad in enumerate(together.grads):
            torch.testing.assert_close(grad, sum(a.grads[k] for a in alone), rtol=1e-4, atol=1e-6)
        self.assertAlmostEqual(together.loss, sum(a.loss for a in alone), places=4)
        for got, a in zip(together.logprobs, alone):
            torch.testing.assert_close(torch.tensor(got), torch.tensor(a.logprobs[0]), rtol=0, atol=1e-5)

    def test_a_shared_prompt_runs_once(self):
        runs = []
        original = self.policy.model.trunk_shared
        with mock.patch.object(self.policy.model, 'trunk_shared', lambda tokens, *a: runs.append(tokens.shape[0]) or original(tokens, *a)):
            training.compute_gradients(self.policy, self.data, LossConfig('importance_sampling'))
        prompts = {tuple(d.tokens[:d.weights.index(1.0) + 1]) for d in self.data if 1.0 in d.weights}
        self.assertEqual(sum(runs), len(prompts) + 1)


if __name__ == '__main__':
    unittest.main()
