"""The Tinker API's behaviour: what each call computes (checked against the model run by hand), ordering and
resends, LoRA, checkpoints, sampling, sessions, and bad input changing nothing."""

from __future__ import annotations

import json
import os
import struct
import time
import unittest

import torch

from selfplay_host import tokenizer
from selfplay_host.model import adapted_layers

from .helpers import RunningHost

PROMPT = [257, 259, 72, 105, 256, 260]  # <|begin|><|user|>Hi<|end|><|assistant|>


def datum(tokens: list[int], targets: list[int], weights: list[float] | None = None, **inputs) -> dict:
    loss_inputs = {'target_tokens': {'data': targets, 'dtype': 'int64', 'shape': [len(targets)]}}
    if weights is not None:
        loss_inputs['weights'] = {'data': weights, 'dtype': 'float32', 'shape': [len(weights)]}
    for key, values in inputs.items():
        loss_inputs[key] = {'data': values, 'dtype': 'float32', 'shape': [len(values)]}
    return {'model_input': {'chunks': [{'type': 'encoded_text', 'tokens': tokens}]}, 'loss_fn_inputs': loss_inputs}


def completion_datum(completion: list[int], **inputs) -> dict:
    """PROMPT then `completion`, weighted on the completion only (as a trainer sends a sampled turn)."""
    tokens = PROMPT + completion[:-1]
    targets = PROMPT[1:] + completion
    weights = [0.0] * (len(PROMPT) - 1) + [1.0] * len(completion)
    pad = [0.0] * (len(PROMPT) - 1)
    return datum(tokens, targets, weights, **{k: pad + v for k, v in inputs.items()})


class TinkerCase(unittest.TestCase):
    options: dict = {}

    def setUp(self):
        self.host = RunningHost(['tiny'], **self.options)
        self.session = self.ok('create_session', {'tags': ['test'], 'sdk_version': '0.24.0'})['session_id']

    def tearDown(self):
        self.host.close()

    def call(self, route: str, body: dict) -> tuple[int, dict]:
        return self.host.post(f'/api/v1/{route}', body)

    def ok(self, route: str, body: dict) -> dict:
        status, answer = self.call(route, body)
        self.assertEqual(status, 200, answer)
        return answer

    def result(self, future: dict) -> dict:
        status, answer = self.call('retrieve_future', {'request_id': future['request_id']})
        self.assertEqual(status, 200, answer)
        return answer

    def failure(self, future: dict) -> str:
        status, answer = self.call('retrieve_future', {'request_id': future['request_id']})
        self.assertEqual(status, 400, answer)
        return answer['detail']

    def create(self, rank: int = 0) -> str:
        created = self.ok('create_model', {'session_id': self.session, 'base_model': 'tiny', 'lora_config': {'rank': rank, 'seed': 7}})
        self.result(created)
        return created['model_id']

    def policy(self, model_id: str):
        return self.host.host.registry.policies[model_id]

    def train(self, model_id: str, data: list[dict], loss_fn: str = 'cross_entropy', lr: float = 1e-2, **config) -> tuple[dict, dict]:
        body = {'model_id': model_id, 'forward_backward_input': {'data': data, 'loss_fn': loss_fn, **({'loss_fn_config': config} if config else {})}}
        passed = self.ok('forward_backward', body)
        stepped = self.ok('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': lr}})
        return self.result(passed), self.result(stepped)

    def weights(self, model_id: str) -> list[torch.Tensor]:
        return [t.detach().clone() for t in self.policy(model_id).model.state_dict().values()]

    def assert_same(self, a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
        self.assertEqual(len(a), len(b))
        self.assertTrue(all(torch.equal(x, y) for x, y in zip(a, b)))


def by_hand_logprobs(model, tokens: list[int], targets: list[int]) -> torch.Tensor:
    """log p(targets[i] | tokens[:i + 1]) from the model's own forward pass, outside the host's code paths;
    float32's lowest value for targets the model cannot generate, as the host reports them."""
    positions = torch.arange(len(tokens)).unsqueeze(0)
    logits = model.score(torch.tensor([tokens]), positions)[0]
    generable = torch.tensor(targets) < tokenizer.OUTPUT_SIZE
    chosen = torch.log_softmax(logits.float(), dim=-1).gather(-1, torch.where(generable, torch.tensor(targets), 0).unsqueeze(-1)).squeeze(-1)
    return chosen.masked_fill(~generable, -3.4028234663852886e38)


class Passes(TinkerCase):
    def test_cross_entropy_outputs_and_step_match_a_step_taken_by_hand(self):
        model_id = self.create()
        policy = self.policy(model_id)
        completion = [79, 75, 256]
        sent = completion_datum(completion)
        tokens, targets = sent['model_input']['chunks'][0]['tokens'], sent['loss_fn_inputs']['target_tokens']['data']
        weights = torch.tensor(sent['loss_fn_inputs']['weights']['data'])

        replica = __import__('copy').deepcopy(policy.model)
        optimizer = torch.optim.AdamW(replica.parameters(), lr=1e-2, betas=(0.9, 0.95), eps=1e-12, weight_decay=0.0)
        expected = by_hand_logprobs(replica, tokens, targets)
        (-(expected * weights).sum()).backward()
        optimizer.step()

        passed, stepped = self.train(model_id, [sent])
        output = passed['loss_fn_outputs'][0]
        self.assertEqual(output['logprobs']['shape'], [len(tokens)])
        torch.testing.assert_close(torch.tensor(output['logprobs']['data']), expected.detach(), rtol=0, atol=1e-5)
        torch.testing.assert_close(torch.tensor(output['elementwise_loss']['data']), -(expected.detach() * weights), rtol=0, atol=1e-5)
        self.assertAlmostEqual(passed['metrics']['loss:sum'], float(-(expected * weights).sum()), places=4)
        self.assertEqual(passed['metrics']['weights:sum'], 3.0)
        self.assertEqual(stepped['metrics']['version'], 1.0)
        for mine, theirs in zip(policy.model.parameters(), replica.parameters()):
            torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-6)

    def test_importance_sampling_and_ppo_match_their_formulas(self):
        model_id = self.create()
        completion = [79, 75, 256]
        current = by_hand_logprobs(self.policy(model_id).model, PROMPT + completion[:-1], PROMPT[1:] + completion).detach()[-3:]
        sampler = (current + torch.tensor([0.5, -0.5, 0.0])).tolist()
        advantages = [1.0, 1.0, -2.0]
        ratio = torch.exp(current - torch.tensor(sampler))
        for loss_fn, config, per_token in (
            ('importance_sampling', {}, -ratio * torch.tensor(advantages)),
            ('ppo', {'clip_low_threshold': 0.9, 'clip_high_threshold': 1.1},
             -torch.minimum(ratio * torch.tensor(advantages), ratio.clamp(0.9, 1.1) * torch.tensor(advantages))),
        ):
            with self.subTest(loss_fn=loss_fn):
                body = {'model_id': model_id, 'forward_backward_input': {
                    'data': [completion_datum(completion, logprobs=sampler, advantages=advantages)], 'loss_fn': loss_fn, 'loss_fn_config': config}}
                out = self.result(self.ok('forward', {'model_id': model_id, 'forward_input': body['forward_backward_input']}))
                torch.testing.assert_close(torch.tensor(out['loss_fn_outputs'][0]['elementwise_loss']['data'][-3:]), per_token, rtol=0, atol=1e-5)

    def test_forward_changes_nothing_and_gradients_accumulate_until_optim_step(self):
        model_id = self.create()
        before = self.weights(model_id)
        data = [completion_datum([65, 256])]
        self.result(self.ok('forward', {'model_id': model_id, 'forward_input': {'data': data, 'loss_fn': 'cross_entropy'}}))
        self.assertIsNone(self.policy(model_id).pending)
        for _ in range(2):
            self.result(self.ok('forward_backward', {'model_id': model_id, 'forward_backward_input': {'data': data, 'loss_fn': 'cross_entropy'}}))
        self.assert_same(before, self.weights(model_id))
        self.assertEqual(self.policy(model_id).pending_samples, 2)
        stepped = self.result(self.ok('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': 1e-3}}))
        self.assertEqual(stepped['metrics']['samples'], 2.0)
        self.assertIsNone(self.policy(model_id).pending)
        # With nothing accumulated, optim_step fails and changes nothing.
        after = self.weights(model_id)
        self.assertIn('no accumulated gradients', self.failure(self.ok('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': 1e-3}})))
        self.assert_same(after, self.weights(model_id))

    def test_requests_run_in_the_order_they_arrive_without_waiting_for_results(self):
        model_id = self.create()
        data = [completion_datum([65, 256])]
        futures = []
        for _ in range(3):
            futures.append(self.ok('forward_backward', {'model_id': model_id, 'forward_backward_input': {'data': data, 'loss_fn': 'cross_entropy'}}))
            futures.append(self.ok('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': 1e-3}}))
        versions = [self.result(f)['metrics']['version'] for f in futures[1::2]]
        self.assertEqual(versions, [1.0, 2.0, 3.0])
        ids = [int(f['request_id']) for f in futures]
        self.assertEqual(ids, sorted(ids))

    def test_a_resent_request_gets_its_first_id_and_a_reused_seq_id_is_refused(self):
        model_id = self.create()
        body = {'model_id': model_id, 'seq_id': 1, 'forward_backward_input': {'data': [completion_datum([65, 256])], 'loss_fn': 'cross_entropy'}}
        first = self.ok('forward_backward', body)
        again = self.ok('forward_backward', body)
        self.assertEqual(again['request_id'], first['request_id'])
        self.result(first)
        self.assertEqual(self.policy(model_id).pending_samples, 1)
        other = {**body, 'forward_backward_input': {'data': [completion_datum([66, 256])], 'loss_fn': 'cross_entropy'}}
        self.assertEqual(self.call('forward_backward', other), (409, {'detail': 'Training request sequence number was reused'}))

    def test_a_resent_save_is_the_first_save_not_a_conflict(self):
        model_id = self.create()
        for route, body in (('save_weights', {'model_id': model_id, 'path': 'once', 'seq_id': 7}),
                            ('save_weights_for_sampler', {'model_id': model_id, 'path': 'once', 'seq_id': 8})):
            with self.subTest(route=route):
                first = self.ok(route, body)
                self.assertEqual(self.ok(route, body)['request_id'], first['request_id'])
                self.result(first)
                # A new request under the name is still a conflict.
                self.assertEqual(self.call(route, {**body, 'seq_id': 9})[0], 409)
        # Once deleted, the name is free again.
        self.assertEqual(self.host.request('DELETE', f'/api/v1/training_runs/{model_id}/checkpoints/weights/once')[0], 204)
        self.result(self.ok('save_weights', {'model_id': model_id, 'path': 'once'}))

    def test_a_non_finite_step_fails_its_future_and_changes_nothing(self):
        model_id = self.create()
        before = self.weights(model_id)
        body = {'model_id': model_id, 'forward_backward_input': {
            'data': [completion_datum([65, 256], logprobs=[-80.0, -80.0], advantages=[3e38, 3e38])], 'loss_fn': 'importance_sampling'}}
        self.assertIn('not finite', self.failure(self.ok('forward_backward', body)))
        self.assertIsNone(self.policy(model_id).pending)
        self.assert_same(before, self.weights(model_id))
        self.assertEqual(self.policy(model_id).version, 0)


class BadInput(TinkerCase):
    def test_every_bad_request_answers_4xx_and_changes_nothing(self):
        model_id = self.create()
        before = self.weights(model_id)
        good = completion_datum([65, 256])
        fb = lambda data, **extra: {'model_id': model_id, 'forward_backward_input': {'data': data, 'loss_fn': 'cross_entropy', **extra}}  # noqa: E731
        cases = [
            ('forward_backward', fb([datum([1, 2], [2, 3], [1.0])]), 400, 'has 1 values'),
            ('forward_backward', fb([datum([1, 999], [2, 3])]), 400, 'token ids must be integers from 0 to 261'),
            ('forward_backward', fb([datum([1, 2], [2, 300])]), 400, 'token ids must be integers from 0 to 261'),
            ('forward_backward', fb([datum([1, 2], [2, tokenizer.ASSISTANT])]), 400, 'cannot generate'),
            ('forward_backward', fb([datum(list(range(200)), list(range(200)))]), 400, 'its context'),
            ('forward_backward', fb([datum([1, 2], [2, 3], [0.0, 0.0])]), 400, 'every weight is 0'),
            ('forward_backward', fb([]), 400, 'send 1 to 4096'),
            ('forward_backward', fb([good], loss_fn_config={'clip_low_threshold': 0.5}), 422, "does not accept loss_fn_config keys"),
            ('forward_backward', {'model_id': model_id, 'forward_backward_input': {'data': [good], 'loss_fn': 'importance_sampling'}}, 422, 'Field required'),
            ('forward_backward', {'model_id': model_id, 'forward_backward_input': {'data': [good], 'loss_fn': 'gspo'}}, 400, 'not supported by this host'),
            ('forward_backward', fb([{**good, 'loss_fn_inputs': {**good['loss_fn_inputs'], 'weights': {'data': [1.0], 'sparse_crow_indices': [0, 1]}}}]), 400, 'sparse'),
            ('forward_backward', fb([{**good, 'model_input': {'chunks': [{'type': 'image', 'data': 'AA==', 'format': 'png'}]}}]), 400, 'image chunks'),
            ('forward_backward', {**fb([good]), 'model_id': 'model_00000000'}, 404, 'Model not found'),
            ('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': -1}}, 422, 'greater than or equal'),
            ('optim_step', {'model_id': model_id, 'adam_params': {'learning_rate': float('nan')}}, 422, 'JSON decode error'),
            ('save_weights', {'model_id': model_id, 'path': '../x'}, 422, 'String should match pattern'),
            ('load_weights', {'model_id': model_id, 'path': 'tinker://model_00000000/weights/none'}, 404, 'Checkpoint not found'),
            ('load_weights', {'model_id': model_id, 'path': '/etc/passwd'}, 400, 'not a tinker:// path'),
            ('load_weights', {'model_id': model_id, 'path': 'tinker://../weights/x'}, 404, 'Checkpoint not found'),
            ('asample', {'prompt': {'chunks': [{'tokens': [1]}]}, 'sampling_params': {'max_tokens': 4, 'top_p': 0}, 'base_model': 'tiny'}, 400, 'top_p'),
            ('asample', {'prompt': {'chunks': [{'tokens': [1]}]}, 'sampling_params': {'max_tokens': 4}, 'num_samples': 0, 'base_model': 'tiny'}, 400, 'num_samples must be from 1 to 128'),
            ('asample', {'prompt': {'chunks': [{'tokens': [1]}]}, 'sampling_params': {'max_tokens': 4, 'stop': [300]}, 'base_model': 'tiny'}, 400, 'stop token ids'),
            ('asample', {'prompt': {'chunks': [{'tokens': [1]}]}, 'sampling_params': {'max_tokens': 4}, 'base_model': 'other'}, 400, 'Engine is configured for tiny'),
            ('asample', {'prompt': {'chunks': [{'tokens': [1]}]}, 'sampling_params': {'max_tokens': 4}, 'model_path': f'tinker://{model_id}/nothing'}, 404, 'Sampler weights not found'),
            ('create_model', {'session_id': self.session, 'base_model': 'Qwen/Qwen3-4B', 'lora_config': {'rank': 8}}, 400, 'not served here'),
            ('create_model', {'session_id': self.session, 'base_model': 'tiny', 'lora_config': {'rank': 65}}, 400, 'lora_config.rank'),
            ('create_model', {'session_id': 'session_00000000', 'base_model': 'tiny', 'lora_config': {'rank': 0}}, 404, 'Session not found'),
            ('nonexistent', {}, 404, 'Not Found'),
        ]
        for route, body, status, message in cases:
            with self.subTest(route=route, message=message):
                raw = json.dumps(body).encode() if 'nan' not in message and 'JSON' not in message else b'{"model_id": "x", "adam_params": {"learning_rate": NaN}}'
                got_status, _, answer = self.host.request('POST', f'/api/v1/{route}', raw, 'application/json')
                self.assertEqual(got_status, status, answer)
                self.assertIn(message, answer.decode())
        self.assert_same(before, self.weights(model_id))
        self.assertEqual(self.policy(model_id).version, 0)
        self.assertIsNone(self.policy(model_id).pending)

    def test_bodies_too_large_are_refused_before_they_are_decoded(self):
        model_id = self.create()
        huge = b'{"model_id": "' + model_id.encode() + b'", "x": [' + b'1,' * 700_000 + b'1]}'
        status, _, answer = self.host.request('POST', '/api/v1/forward_backward', huge, 'application/json')
        self.assertEqual(status, 413, answer)
        status, _, answer = self.host.request('POST', '/api/v1/optim_step', b'{"x": "' + b'a' * (2 * 1024 * 1024) + b'"}', 'application/json')
        self.assertEqual(status, 413, answer)
        self.assertIn('detail', json.loads(answer))


class Lora(TinkerCase):
    def test_a_new_adapter_changes_nothing_and_training_moves_only_adapters(self):
        full, lora = self.create(0), self.create(4)
        data = [completion_datum([79, 75, 256])]
        out_full = self.result(self.ok('forward', {'model_id': full, 'forward_input': {'data': data, 'loss_fn': 'cross_entropy'}}))
        out_lora = self.result(self.ok('forward', {'model_id': lora, 'forward_input': {'data': data, 'loss_fn': 'cross_entropy'}}))
        self.assertEqual(out_full['loss_fn_outputs'], out_lora['loss_fn_outputs'])

        policy = self.policy(lora)
        base_before = {k: v.clone() for k, v in policy.model.state_dict().items() if 'lora_' not in k}
        adapters_before = {k: v.clone() for k, v in policy.model.state_dict().items() if 'lora_' in k}
        self.assertEqual(len(adapters_before), 2 * 4 * len(policy.model.blocks))
        self.assertEqual(len(policy.trainable), len(adapters_before))
        for _ in range(3):
            self.train(lora, data)
        now = policy.model.state_dict()
        self.assertTrue(all(torch.equal(now[k], v) for k, v in base_before.items()))
        self.assertTrue(any(not torch.equal(now[k], v) for k, v in adapters_before.items()))
        out = self.result(self.ok('forward', {'model_id': lora, 'forward_input': {'data': data, 'loss_fn': 'cross_entropy'}}))
        self.assertGreater(sum(out['loss_fn_outputs'][0]['logprobs']['data'][-3:]), sum(out_lora['loss_fn_outputs'][0]['logprobs']['data'][-3:]))

    def test_sampler_weights_are_saved_in_the_peft_layout_and_reproduce_the_sampler(self):
        model_id = self.create(4)
        self.train(model_id, [completion_datum([79, 75, 256])], lr=5e-2)
        saved = self.result(self.ok('save_weights_for_sampler', {'model_id': model_id, 'path': 'after-one'}))
        self.assertEqual(saved['path'], f'tinker://{model_id}/after-one')
        directory = saved['adapter_dir']
        with open(os.path.join(directory, 'adapter_config.json'), encoding='utf-8') as f:
            config = json.load(f)
        self.assertEqual((config['peft_type'], config['r'], config['lora_alpha'], config['base_model_name_or_path']), ('LORA', 4, 32.0, 'tiny'))
        self.assertEqual(sorted(config['target_modules']), ['fc', 'out', 'proj', 'qkv'])
        # The file, parsed by hand: 8-byte header length, JSON header, float32 little-endian data.
        with open(os.path.join(directory, 'adapter_model.safetensors'), 'rb') as f:
            raw = f.read()
        (size,) = struct.unpack('<Q', raw[:8])
        header = json.loads(raw[8:8 + size])
        data = raw[8 + size:]
        self.assertEqual(header.pop('__metadata__'), {'format': 'pt'})

        def tensor(name):
            entry = header[name]
            start, end = entry['data_offsets']
            return torch.tensor(struct.unpack(f'<{(end - start) // 4}f', data[start:end])).reshape(entry['shape'])

        sampler = self.host.host.registry.resolve(saved['model'])[1]
        base = self.policy(model_id)
        self.assertEqual(len(header), 2 * len(adapted_layers(base.model)))
        sampler_layers = dict(adapted_layers(sampler))
        base_weights = {k: v for k, v in base.model.state_dict().items()}
        for path, _ in adapted_layers(base.model):
            a, b = tensor(f'base_model.model.{path}.lora_A.weight'), tensor(f'base_model.model.{path}.lora_B.weight')
            self.assertEqual(a.shape[0], 4)
            self.assertEqual(b.shape[1], 4)
            merged = base_weights[f'{path}.weight'] + (32.0 / 4) * (b @ a)
            torch.testing.assert_close(sampler_layers[path].weight, merged, rtol=0, atol=1e-6)


class Weights(TinkerCase):
    def test_save_then_load_weights_restores_the_model_and_optimizer(self):
        source = self.create()
        self.train(source, [completion_datum([65, 256])])
        saved = self.result(self.ok('save_weights', {'model_id': source, 'path': 'one'}))
        self.assertEqual(saved, {'path': f'tinker://{source}/weights/one', 'type': 'save_weights'})
        self.assertEqual(self.call('save_weights', {'model_id': source, 'path': 'one'}),
                         (409, {'detail': f"Checkpoint 'one' already exists for model '{source}'"}))
        target = self.create()
        self.assertEqual(self.result(self.ok('load_weights', {'model_id': target, 'path': saved['path']})), {'type': 'load_weights'})
        self.assert_same(self.weights(source), self.weights(target))
        # Both take the same next step: the optimizer state came too.
        self.train(source, [completion_datum([66, 256])])
        self.train(target, [completion_datum([66, 256])])
        self.assert_same(self.weights(source), self.weights(target))

    def test_sampling_follows_sampler_weights_and_the_openai_route_serves_them(self):
        model_id = self.create()
        self.train(model_id, [completion_datum([88, 256])] * 4, lr=5e-2)
        saved = self.result(self.ok('save_weights_for_sampler', {'model_id': model_id, 'path': 'v1'}))
        self.assertEqual(saved['model'], f'{model_id}@1')
        prompt = {'chunks': [{'type': 'encoded_text', 'tokens': PROMPT}]}
        request = {'prompt': prompt, 'num_samples': 3, 'sampling_params': {'max_tokens': 6, 'seed': 5, 'temperature': 1.0}, 'model_path': saved['path'],
                   'prompt_logprobs': True}
        first, again = self.result(self.ok('asample', request)), self.result(self.ok('asample', request))
        self.assertEqual(first, again)
        self.assertEqual(len(first['sequences']), 3)
        weights = [1.0 if t < tokenizer.OUTPUT_SIZE else 0.0 for t in PROMPT[1:]]
        scored = self.result(self.ok('forward', {'model_id': model_id, 'forward_input': {'data': [datum(PROMPT[:-1], PROMPT[1:], weights)], 'loss_fn': 'cross_entropy'}}))
        expected = [None] + [v if t < tokenizer.OUTPUT_SIZE else None for v, t in zip(scored['loss_fn_outputs'][0]['logprobs']['data'], PROMPT[1:])]
        self.assertEqual(len(first['prompt_logprobs']), len(PROMPT))
        for got, want in zip(first['prompt_logprobs'], expected):
            self.assertTrue(got == want if want is None else abs(got - want) < 1e-5, (got, want))
        for sequence in first['sequences']:
            self.assertLessEqual(len(sequence['tokens']), 6)
            self.assertEqual(len(sequence['tokens']), len(sequence['logprobs']))
        # top_k 1 is greedy: the same tokens as temperature 0.
        greedy = self.result(self.ok('asample', {**request, 'num_samples': 1, 'sampling_params': {'max_tokens': 6, 'temperature': 0}}))
        top1 = self.result(self.ok('asample', {**request, 'num_samples': 1, 'sampling_params': {'max_tokens': 6, 'top_k': 1, 'seed': 9}}))
        self.assertEqual(greedy['sequences'][0]['tokens'], top1['sequences'][0]['tokens'])
        # A stop token ends a sequence and is its last token.
        first_token = greedy['sequences'][0]['tokens'][0]
        stopped = self.result(self.ok('asample', {**request, 'num_samples': 1, 'sampling_params': {'max_tokens': 6, 'temperature': 0, 'stop': [first_token]}}))
        self.assertEqual(stopped['sequences'][0], {'stop_reason': 'stop', 'tokens': [first_token], 'logprobs': greedy['sequences'][0]['logprobs'][:1]})
        status, chat = self.host.chat(model=saved['model'], max_tokens=2)
        self.assertEqual((status, chat['model']), (200, saved['model']))

    def test_ephemeral_sampler_weights_open_a_session_and_are_forgotten_after_keep_newer_ones(self):
        model_id = self.create()
        saved = self.result(self.ok('save_weights_for_sampler', {'model_id': model_id, 'sampling_session_seq_id': 1, 'seq_id': 1}))
        self.assertIsNone(saved['path'])
        request = {'prompt': {'chunks': [{'tokens': PROMPT}]}, 'sampling_params': {'max_tokens': 2}, 'sampling_session_id': saved['sampling_session_id'], 'seq_id': 0}
        self.result(self.ok('asample', request))
        for step in range(2, 6):
            self.train(model_id, [completion_datum([65, 256])])
            self.result(self.ok('save_weights_for_sampler', {'model_id': model_id, 'sampling_session_seq_id': step, 'seq_id': step}))
        self.assertIn('no longer held', self.failure(self.ok('asample', request)))


class Sessions(TinkerCase):
    options = {'session_timeout_seconds': 0.3}

    def test_a_silent_session_loses_its_models_and_an_unloaded_model_is_gone(self):
        model_id = self.create()
        self.ok('session_heartbeat', {'session_id': self.session})
        time.sleep(0.5)
        self.assertEqual(self.call('get_info', {'model_id': model_id}), (404, {'detail': 'Model not found'}))
        self.assertNotIn(model_id, self.host.host.registry.policies)
        self.assertEqual(self.call('session_heartbeat', {'session_id': self.session}), (404, {'detail': 'Session not found'}))

    def test_the_sdk_s_housekeeping_routes(self):
        self.assertEqual(self.ok('client/config', {'sdk_version': '0.24.0'}), {'pjwt_auth_enabled': False})
        self.assertEqual(self.ok('telemetry', {'events': [], 'platform': 'linux', 'sdk_version': '0.24.0', 'session_id': self.session}), {'status': 'accepted'})

    def test_unload_model(self):
        model_id = self.create()
        info = self.ok('get_info', {'model_id': model_id})
        self.assertEqual((info['model_data']['base_model'], info['is_lora']), ('tiny', False))
        unloaded = self.ok('unload_model', {'model_id': model_id})
        self.assertEqual(self.result(unloaded), {'model_id': model_id, 'status': 'unloaded', 'type': 'unload_model'})
        self.assertEqual(self.call('forward', {'model_id': model_id, 'forward_input': {'data': [completion_datum([65, 256])], 'loss_fn': 'cross_entropy'}}),
                         (404, {'detail': 'Model not found'}))


class Concurrency(TinkerCase):
    def test_sampling_runs_while_a_training_request_holds_the_weights(self):
        model_id = self.create()
        # Held here as a training step holds it: the forward_backward waits in its model's queue, sampling does not.
        with self.host.host.lock:
            self.ok('forward_backward', {'model_id': model_id, 'forward_backward_input': {'data': [completion_datum([65, 256])], 'loss_fn': 'cross_entropy'}})
            sample = self.result(self.ok('asample', {'prompt': {'chunks': [{'tokens': PROMPT}]}, 'sampling_params': {'max_tokens': 2}, 'base_model': 'tiny'}))
            self.assertEqual(len(sample['sequences']), 1)

if __name__ == '__main__':
    unittest.main()
