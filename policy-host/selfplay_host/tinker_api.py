"""The Tinker training API under /api/v1/, in the JSON encoding SkyRL's Tinker server accepts: sessions,
models (full fine-tuning of a base model, or a LoRA adapter on it), forward / forward_backward / optim_step,
checkpoints with tinker:// paths, sampler weights and sampling, and futures retrieved by long polling.

A created model is a policy of the host like any other: once it saves weights for the sampler, the OpenAI
routes serve them too, as `<model_id>@<version>`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import torch

from . import checkpoints, sampling, training
from .futures import FutureStore, SerialWorker
from .policies import LORA_ALPHA, Policy
from .protocol import ProtocolError
from .scoring import log_probs, make_datum_batch, target_logprobs
from .tinker_schema import CHECKPOINT_NAME, Fields, TinkerRefusal, parse_json_object, parse_optim_step, parse_pass, parse_sample

SAMPLER_KIND = 'sampler_weights'
MAX_LORA_RANK = 64


@dataclass
class TinkerModel:
    model_id: str
    session_id: str
    base_model: str
    lora_rank: int
    seed: int | None
    policy: Policy
    worker: SerialWorker
    # Named checkpoints, (kind, name), reserved when their request is accepted: 'weights' and 'sampler_weights'.
    saved: set[tuple[str, str]] = field(default_factory=set)
    # Sampler weights by name -> the published version that holds them.
    samplers: dict[str, int] = field(default_factory=dict)
    # The names of sampler weights saved with a name: each keeps its version published until it is deleted.
    pins: set[str] = field(default_factory=set)
    # (seq_id) -> (request kind, body digest, request id), for resent requests.
    sequence: dict[int, tuple[str, str, str]] = field(default_factory=dict)


@dataclass
class Session:
    last_heartbeat: float | None = None
    models: list[str] = field(default_factory=list)


@dataclass
class SamplingSession:
    base_model: str | None
    model_path: str | None


def _new_id(prefix: str) -> str:
    return f'{prefix}_{secrets.token_hex(4)}'


def tensor(values: list[float]) -> dict:
    return {'data': values, 'dtype': 'float32', 'shape': [len(values)]}


class TinkerService:
    def __init__(self, host):
        self.host = host
        options = host.options
        self.futures = FutureStore(options.future_wait_seconds)
        self.session_timeout = options.session_timeout_seconds
        self.sampler = SerialWorker('tinker-sampler')
        self.lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.models: dict[str, TinkerModel] = {}
        self.sampling_sessions: dict[str, SamplingSession] = {}

    # ------------------------------------------------------------ routing

    def get(self, route: str) -> dict:
        if route == 'healthz':
            return {'status': 'ok'}
        if route == 'get_server_capabilities':
            return {'supported_models': [{'model_name': name, 'max_context_length': self.host.context} for name in self.host.options.policies]}
        if route.startswith('samplers/'):
            session = self.sampling_sessions.get(route[len('samplers/'):])
            if session is None:
                raise TinkerRefusal(404, 'Sampler not found')
            return {'sampler_id': route[len('samplers/'):], 'base_model': session.base_model or self._path_model(session.model_path).base_model,
                    'model_path': session.model_path}
        raise TinkerRefusal(404, 'Not Found')

    def delete(self, route: str) -> None:
        """DELETE training_runs/{model_id}/checkpoints/{weights|sampler_weights}/{name}: a training checkpoint's file
        is removed (its model need not be loaded any more); sampler weights (their model must be loaded) are no longer
        kept, and their adapter folder is removed."""
        parts = route.split('/')
        if len(parts) != 5 or parts[0] != 'training_runs' or parts[2] != 'checkpoints' or parts[3] not in ('weights', SAMPLER_KIND):
            raise TinkerRefusal(404, 'Not Found')
        model_id, kind, name = parts[1], parts[3], parts[4]
        if not CHECKPOINT_NAME.match(name):
            raise TinkerRefusal(422, 'Invalid checkpoint_id')
        if kind == 'weights':
            path = self._weights_file(model_id, name)
            if not os.path.isfile(path):
                raise TinkerRefusal(404, f'Checkpoint not found: {model_id}/{name}')
            os.unlink(path)
            loaded = self.models.get(model_id)
            if loaded is not None:
                with self.lock:
                    loaded.saved.discard(('weights', name))
            return
        model = self.models.get(model_id)
        # Under the weights lock, as the save that pins a version and records its name is.
        with self.host.lock, self.lock:
            version = model.samplers.pop(name, None) if model else None
            if version is None:
                raise TinkerRefusal(404, f'Checkpoint not found: {model_id}/{name}')
            model.saved.discard((SAMPLER_KIND, name))
            pinned = name in model.pins
            model.pins.discard(name)
            # The version stays pinned while other named sampler weights hold the same weights.
            if pinned and not any(model.samplers.get(other) == version for other in model.pins):
                model.policy.unpin(version)
        shutil.rmtree(os.path.join(self.host.options.checkpoint_dir, 'sampler', model_id, name), ignore_errors=True)

    def _weights_file(self, model_id: str, name: str) -> str:
        return os.path.join(os.path.realpath(self.host.options.checkpoint_dir), f'tinker-{model_id}-{name}{checkpoints.SUFFIX}')

    def post(self, route: str, body, raw: bytes) -> dict:
        self._expire_sessions()
        handler = POST_ROUTES.get(route)
        if handler is None:
            raise TinkerRefusal(404, 'Not Found')
        return handler(self, body, raw)

    # ------------------------------------------------------------ sessions

    def create_session(self, body, raw) -> dict:
        fields = Fields()
        body = parse_json_object(fields, body)
        tags = fields.array(fields.field(body, 'tags', ()), ('tags',))
        fields.string(fields.field(body, 'sdk_version', ()), ('sdk_version',))
        if isinstance(tags, list):
            for i, tag in enumerate(tags):
                fields.string(tag, ('tags', i))
        fields.done()
        session_id = _new_id('session')
        with self.lock:
            self.sessions[session_id] = Session()
        return {'type': 'create_session', 'info_message': None, 'warning_message': None, 'error_message': None, 'session_id': session_id}

    def session_heartbeat(self, body, raw) -> dict:
        session = self._session(body)
        session.last_heartbeat = time.monotonic()
        return {'type': 'session_heartbeat'}

    def client_config(self, body, raw) -> dict:
        return {'pjwt_auth_enabled': False}

    def telemetry(self, body, raw) -> dict:
        """The Tinker SDK reports its events here; this host, as SkyRL's, takes them and keeps nothing."""
        return {'status': 'accepted'}

    def _session(self, body) -> Session:
        fields = Fields()
        body = parse_json_object(fields, body)
        session_id = fields.string(fields.field(body, 'session_id', ()), ('session_id',))
        fields.done()
        session = self.sessions.get(session_id)
        if session is None:
            raise TinkerRefusal(404, 'Session not found')
        return session

    def _expire_sessions(self) -> None:
        """Sessions that heartbeated once and then fell silent for the timeout lose their models (as in SkyRL)."""
        now = time.monotonic()
        with self.lock:
            stale = [sid for sid, s in self.sessions.items() if s.last_heartbeat is not None and now - s.last_heartbeat > self.session_timeout]
            for sid in stale:
                for model_id in self.sessions.pop(sid).models:
                    self._unload(model_id)

    # ------------------------------------------------------------ models

    def create_model(self, body, raw) -> dict:
        session = self._session(body)
        fields = Fields()
        base_model = fields.string(fields.field(body, 'base_model', ()), ('base_model',))
        lora = fields.obj(fields.field(body, 'lora_config', ()), ('lora_config',))
        rank = seed = None
        if isinstance(lora, dict):
            rank = fields.integer(fields.field(lora, 'rank', ('lora_config',)), ('lora_config', 'rank'))
            seed = fields.integer(lora.get('seed'), ('lora_config', 'seed'))
        fields.done()
        if base_model not in self.host.options.policies:
            raise TinkerRefusal(400, f"base model '{base_model}' is not served here; this host serves: {', '.join(self.host.options.policies)}")
        if not 0 <= rank <= MAX_LORA_RANK:
            raise TinkerRefusal(400, f'lora_config.rank must be from 0 (full fine-tuning) to {MAX_LORA_RANK}, got {rank}')
        base = self.host.registry.policies[base_model]
        model_id = _new_id('model')
        policy = Policy(model_id, base.cfg, base.seed, self.host.device, self.host.options.keep, lora_rank=rank,
                        lora_seed=seed if seed is not None else base.seed)
        model = TinkerModel(model_id, next(k for k, v in self.sessions.items() if v is session), base_model, rank, seed, policy,
                            SerialWorker(f'tinker-{model_id}'))
        with self.lock:
            self.models[model_id] = model
            session.models.append(model_id)
            self.host.registry.policies[model_id] = policy
        # SkyRL reports its fixed alpha whatever the rank (with rank 0 nothing uses it).
        lora_out = {'rank': rank, 'alpha': LORA_ALPHA, 'seed': seed, 'train_attn': True, 'train_mlp': True, 'train_unembed': False}
        request_id = self.futures.completed('create_model', {'model_id': model_id, 'base_model': base_model, 'lora_config': lora_out})
        return {'model_id': model_id, 'base_model': base_model, 'lora_config': {'rank': rank, 'seed': seed}, 'status': 'created', 'request_id': request_id}

    def get_info(self, body, raw) -> dict:
        model = self._model_of(body)
        return {'model_id': model.model_id, 'status': 'created',
                'model_data': {'base_model': model.base_model, 'lora_config': {'rank': model.lora_rank, 'seed': model.seed}, 'model_name': model.base_model},
                'is_lora': model.lora_rank > 0, 'lora_rank': model.lora_rank, 'model_name': model.base_model}

    def unload_model(self, body, raw) -> dict:
        model = self._model_of(body)
        with self.lock:
            self._unload(model.model_id)
        request_id = self.futures.completed('unload_model', {'model_id': model.model_id, 'status': 'unloaded', 'type': 'unload_model'})
        return {'request_id': request_id, 'model_id': model.model_id}

    def _unload(self, model_id: str) -> None:
        """Under self.lock. Requests already queued for the model still run; later ones answer 404."""
        model = self.models.pop(model_id, None)
        if model is not None:
            self.host.registry.policies.pop(model_id, None)
            model.worker.close()

    def _model_of(self, body, fields: Fields | None = None) -> TinkerModel:
        fields = fields or Fields()
        body = parse_json_object(fields, body)
        model_id = fields.string(fields.field(body, 'model_id', ()), ('model_id',))
        fields.done()
        return self._model(model_id)

    def _model(self, model_id: str) -> TinkerModel:
        model = self.models.get(model_id)
        if model is None:
            raise TinkerRefusal(404, 'Model not found')
        return model

    # ------------------------------------------------------------ training

    def _training(self, model: TinkerModel, kind: str, seq_id: int | None, raw: bytes, work, reserve: tuple[str, str] | None = None) -> dict:
        """Queues `work` on the model's worker; a resent request (same seq_id, same body) gets its first id back.
        `reserve`: the checkpoint (kind, name) the request saves, taken now (409 when another request has it)."""
        # Only a numbered request can be resent as itself: hashing every body would cost a large one ~0.1 s.
        digest = hashlib.sha256(raw).hexdigest() if seq_id is not None else None
        with self.lock:
            if seq_id is not None and seq_id in model.sequence:
                first_kind, first_digest, request_id = model.sequence[seq_id]
                if (first_kind, first_digest) != (kind, digest):
                    raise TinkerRefusal(409, 'Training request sequence number was reused')
                return {'future_id': request_id, 'status': 'pending', 'request_id': request_id}
            if reserve is not None:
                if reserve in model.saved:
                    raise TinkerRefusal(409, f"Checkpoint '{reserve[1]}' already exists for model '{model.model_id}'")
                model.saved.add(reserve)
                work = self._freed_on_failure(model, reserve, work)
            request_id = self.futures.submit(kind, model.worker, work)
            if seq_id is not None:
                model.sequence[seq_id] = (kind, digest, request_id)
        return {'future_id': request_id, 'status': 'pending', 'request_id': request_id}

    def forward_backward(self, body, raw) -> dict:
        request = parse_pass(body, 'forward_backward_input', self.host.context, skyrl_forward_backward=True)
        model = self._model(request.model_id)
        policy = model.policy

        def work() -> dict:
            with self.host.lock, self.host.busy():
                out = training.compute_gradients(policy, request.data, request.loss)
                training.accumulate(policy, out.grads, len(request.data))
            return self._pass_result(out.logprobs, out.elementwise_loss, pass_metrics(out, request.loss, len(request.data)))

        return self._training(model, 'forward_backward', request.seq_id, raw, work)

    def forward(self, body, raw) -> dict:
        request = parse_pass(body, 'forward_input', self.host.context, skyrl_forward_backward=False)
        model = self._model(request.model_id)
        policy = model.policy

        def work() -> dict:
            with self.host.lock, self.host.busy():
                out = training.compute_gradients(policy, request.data, request.loss, backward=False)
            return self._pass_result(out.logprobs, out.elementwise_loss, {})

        return self._training(model, 'forward', request.seq_id, raw, work)

    @staticmethod
    def _pass_result(logprobs: list[list[float]], losses: list[list[float]], metrics: dict) -> dict:
        return {'loss_fn_output_type': 'scalar',
                'loss_fn_outputs': [{'elementwise_loss': tensor(loss), 'logprobs': tensor(lp)} for lp, loss in zip(logprobs, losses)],
                'metrics': metrics}

    def optim_step(self, body, raw) -> dict:
        model_id, config, seq_id = parse_optim_step(body)
        model = self._model(model_id)
        policy = model.policy

        def work() -> dict:
            with self.host.lock, self.host.busy():
                if policy.pending is None:
                    raise ProtocolError(409, f'model {model_id} has no accumulated gradients: call forward_backward before optim_step')
                grad_norm = training.apply_gradients(policy, policy.pending, config)
                samples = policy.pending_samples
                policy.pending, policy.pending_samples = None, 0
            return {'metrics': {'grad_norm': grad_norm, 'learning_rate': config.learning_rate, 'samples': float(samples), 'version': float(policy.version)}}

        return self._training(model, 'optim_step', seq_id, raw, work)

    # ------------------------------------------------------------ weights

    def _checkpoint_name(self, body, required: bool) -> tuple[str, str | None, dict, Fields]:
        """The model id and checkpoint name of save_weights and save_weights_for_sampler, with the fields read so far."""
        fields = Fields()
        body = parse_json_object(fields, body)
        model_id = fields.string(fields.field(body, 'model_id', ()), ('model_id',))
        name = fields.checkpoint_name(body.get('path'), ('path',))
        if required and name is None:
            fields.field(body, 'path', ())
        return model_id, name, body, fields

    def save_weights(self, body, raw) -> dict:
        model_id, name, body, fields = self._checkpoint_name(body, required=True)
        seq_id = fields.integer(body.get('seq_id'), ('seq_id',))
        fields.done()
        model = self._model(model_id)
        file_name = f'tinker-{model_id}-{name}'

        def work() -> dict:
            with self.host.lock:
                checkpoints.save(model.policy, self.host.options.checkpoint_dir, file_name)
            return {'path': f'tinker://{model_id}/weights/{name}', 'type': 'save_weights'}

        return self._training(model, 'save_weights', seq_id, raw, work, reserve=('weights', name))

    def save_weights_for_sampler(self, body, raw) -> dict:
        model_id, name, body, fields = self._checkpoint_name(body, required=False)
        session_seq = fields.integer(body.get('sampling_session_seq_id'), ('sampling_session_seq_id',))
        seq_id = fields.integer(body.get('seq_id'), ('seq_id',))
        if name is None and (session_seq is None or seq_id is None):
            fields.error('value_error', (), "Value error, Either 'path' or both 'sampling_session_seq_id' and 'seq_id' must be provided", body, {'error': {}})
        fields.done()
        model = self._model(model_id)
        ephemeral = name is None
        if ephemeral:
            name = f'ss{session_seq}_seq{seq_id}'

        def work() -> dict:
            adapter = {}
            with self.host.lock:
                # Named sampler weights last until they are deleted (a league of versions); ephemeral ones are kept
                # among the newest --keep versions, like every published version.
                version = model.policy.publish(pin=not ephemeral)
                # Named LoRA weights are written as a PEFT adapter (what vLLM loads); unnamed ones stay in memory.
                if model.lora_rank and not ephemeral:
                    directory = os.path.join(self.host.options.checkpoint_dir, 'sampler', model_id, name)
                    adapter['adapter_dir'] = checkpoints.save_adapter(model.policy, directory, model.base_model)
                # Recorded before the weights lock is let go, so that a delete never sees the pin without its name.
                with self.lock:
                    model.samplers[name] = version
                    if not ephemeral:
                        model.pins.add(name)
                    session_id = None
                    if ephemeral:
                        session_id = _new_id('sampling')
                        self.sampling_sessions[session_id] = SamplingSession(None, f'tinker://{model_id}/{SAMPLER_KIND}/{name}')
            return {'path': None if ephemeral else f'tinker://{model_id}/{name}', 'type': 'save_weights_for_sampler',
                    'sampling_session_id': session_id, 'model': f'{model_id}@{version}', 'version': version, **adapter}

        return self._training(model, 'save_weights_for_sampler', seq_id, raw, work, reserve=(SAMPLER_KIND, name))

    def _freed_on_failure(self, model: TinkerModel, name: tuple[str, str], work):
        """`work`, after which, if it failed, the name it reserved is free again: nothing was saved under it (else the
        name would answer 409 to a new save and 425 to samplers for ever)."""
        def run() -> dict:
            try:
                return work()
            except BaseException:
                with self.lock:
                    model.saved.discard(name)
                raise

        return run

    def load_weights(self, body, raw) -> dict:
        fields = Fields()
        body = parse_json_object(fields, body)
        model_id = fields.string(fields.field(body, 'model_id', ()), ('model_id',))
        path = fields.string(fields.field(body, 'path', ()), ('path',))
        with_optimizer = fields.boolean(body.get('optimizer'), ('optimizer',)) is not False
        seq_id = fields.integer(body.get('seq_id'), ('seq_id',))
        fields.done()
        model = self._model(model_id)
        source, kind, name = parse_tinker_path(path)
        if kind != 'weights':
            raise TinkerRefusal(400, 'request.path must be in format tinker://source_model_id/weights/checkpoint_id')
        file_path = self._weights_file(source, name)
        if not CHECKPOINT_NAME.match(name) or not CHECKPOINT_NAME.match(source) or not os.path.isfile(file_path):
            raise TinkerRefusal(404, f'Checkpoint not found: {source}/{name}')

        def work() -> dict:
            with self.host.lock:
                checkpoints.load(model.policy, self.host.options.checkpoint_dir, file_path, optimizer=with_optimizer)
            return {'type': 'load_weights'}

        return self._training(model, 'load_weights', seq_id, raw, work)

    def move_reference(self, body, raw) -> dict:
        """This host's extension: the KL reference moves toward the training weights, reference <- (1 - mix)
        reference + mix weights (a slowly moving magnet), in order with the model's other requests."""
        fields = Fields()
        body = parse_json_object(fields, body)
        model_id = fields.string(fields.field(body, 'model_id', ()), ('model_id',))
        mix = fields.number(fields.field(body, 'mix', ()), ('mix',), gt=0.0)
        seq_id = fields.integer(body.get('seq_id'), ('seq_id',))
        fields.done()
        if mix > 1:
            raise TinkerRefusal(400, f'mix must be above 0 and at most 1, got {mix}')
        model = self._model(model_id)

        def work() -> dict:
            with self.host.lock:
                model.policy.move_reference(mix)
            return {'mix': mix, 'type': 'move_reference'}

        return self._training(model, 'move_reference', seq_id, raw, work)

    # ------------------------------------------------------------ sampling

    def _path_model(self, path: str) -> TinkerModel:
        model_id, kind, name = parse_tinker_path(path)
        if kind not in (None, SAMPLER_KIND):
            raise TinkerRefusal(400, 'model_path must be tinker://model_id/checkpoint_id or tinker://model_id/sampler_weights/checkpoint_id')
        model = self._model(model_id)
        if (SAMPLER_KIND, name) not in model.saved:
            raise TinkerRefusal(404, f'Sampler weights not found: {model_id}/{name}')
        return model

    def create_sampling_session(self, body, raw) -> dict:
        self._session(body)
        fields = Fields()
        fields.integer(fields.field(body, 'sampling_session_seq_id', ()), ('sampling_session_seq_id',))
        base_model = fields.string(body.get('base_model'), ('base_model',))
        model_path = fields.string(body.get('model_path'), ('model_path',))
        fields.done()
        if (base_model is None) == (model_path is None):
            raise TinkerRefusal(400, 'Exactly one of base_model or model_path must be provided')
        self._source(base_model, model_path)
        session_id = _new_id('sampling')
        with self.lock:
            self.sampling_sessions[session_id] = SamplingSession(base_model, model_path)
        return {'type': 'create_sampling_session', 'sampling_session_id': session_id}

    def _source(self, base_model: str | None, model_path: str | None) -> str:
        """The host model name that samples: a base policy's newest version, or the version sampler weights hold."""
        if base_model is not None:
            if base_model not in self.host.options.policies:
                raise TinkerRefusal(400, f"Engine is configured for {', '.join(self.host.options.policies)} but request specified '{base_model}'")
            return base_model
        model = self._path_model(model_path)
        _, _, name = parse_tinker_path(model_path)
        version = model.samplers.get(name)
        if version is None:
            raise TinkerRefusal(425, 'Checkpoint is still being created')
        return f'{model.model_id}@{version}'

    def asample(self, body, raw) -> dict:
        request = parse_sample(body, self.host.context)
        if request.sampling_session_id is not None:
            session = self.sampling_sessions.get(request.sampling_session_id)
            if session is None:
                raise TinkerRefusal(404, 'Sampling session not found')
            source = (session.base_model, session.model_path)
        else:
            source = (request.base_model, request.model_path)
        self._source(*source)
        seed = request.seed if request.seed is not None else self.host.rng.getrandbits(31)
        params = sampling.SamplingParams(n=request.num_samples, temperature=request.temperature, top_p=request.top_p,
                                         max_tokens=request.max_tokens, stop=request.stop_strings, top_logprobs=0,
                                         top_k=request.top_k, stop_tokens=request.stop_tokens)

        def work() -> dict:
            try:
                _, weights = self.host.registry.resolve(self._source(*source))
            except ProtocolError:
                raise ProtocolError(404, f'the weights of {source[0] or source[1]} are no longer held: this host keeps the newest '
                                         f'--keep unnamed sampler versions; save named sampler weights to keep them') from None
            with self.host.sampling_lock, self.host.busy():
                generator = torch.Generator(device=self.host.device).manual_seed(seed)
                samples = sampling.generate(weights, request.prompt, params, generator)
                prompt_logprobs = score_prompt(weights, request.prompt) if request.prompt_logprobs else None
            return {'sequences': [{'stop_reason': s.finish_reason, 'tokens': s.token_ids, 'logprobs': s.logprobs} for s in samples],
                    'prompt_logprobs': prompt_logprobs, 'topk_prompt_logprobs': None}

        request_id = self.futures.submit('sample', self.sampler, work)
        return {'future_id': request_id, 'status': 'pending', 'request_id': request_id}

    # ------------------------------------------------------------ futures

    def retrieve_future(self, body, raw) -> dict:
        fields = Fields()
        body = parse_json_object(fields, body)
        request_id = fields.string(fields.field(body, 'request_id', ()), ('request_id',))
        fields.done()
        try:
            future = self.futures.retrieve(request_id)
        except ProtocolError as error:
            raise TinkerRefusal(error.status, error.message) from None
        if future.error is not None:
            raise TinkerRefusal(400, future.error)
        return future.result


def pass_metrics(out: training.Gradients, loss, samples: int) -> dict:
    """Tinker's metrics, named `<metric>:<reduction>`: sums over weighted tokens (divide by weights:sum for means)."""
    metrics = {'loss:sum': out.loss, 'weights:sum': out.weight, 'samples:sum': float(samples), 'entropy:sum': out.sums['entropy']}
    if loss.kind != 'cross_entropy':
        for key in ('kl_sampler', 'ratio', 'clipped', 'truncated'):
            metrics[f'{key}:sum'] = out.sums[key]
        if loss.kl_coef > 0:
            metrics['kl:sum'] = out.sums['kl']
    return metrics


def parse_tinker_path(path: str) -> tuple[str, str | None, str]:
    """tinker://{model_id}/{name}, tinker://{model_id}/weights/{name} or .../sampler_weights/{name} -> (model_id, kind, name)."""
    parts = urlsplit(path) if isinstance(path, str) else None
    segments = parts.path.strip('/').split('/') if parts else []
    if parts is None or parts.scheme != 'tinker' or not parts.netloc or not 1 <= len(segments) <= 2 or not all(segments):
        raise TinkerRefusal(400, f'{path!r} is not a tinker:// path: tinker://model_id/weights/name, tinker://model_id/sampler_weights/name or tinker://model_id/name')
    if len(segments) == 2 and segments[0] not in ('weights', SAMPLER_KIND):
        raise TinkerRefusal(400, f'{path!r}: the kind of checkpoint must be weights or sampler_weights')
    return parts.netloc, segments[0] if len(segments) == 2 else None, segments[-1]


def score_prompt(weights, prompt: list[int]) -> list[float | None]:
    """Tinker's prompt_logprobs: None for the first token and for tokens the model cannot generate."""
    if len(prompt) < 2:
        return [None] * len(prompt)
    with torch.inference_mode():
        batch = make_datum_batch([(prompt[:-1], prompt[1:])], weights.pos.device)
        values = target_logprobs(log_probs(weights, batch), batch)[0].tolist()
    generable = batch.generable[0].tolist()
    return [None] + [v if ok else None for v, ok in zip(values, generable)]


POST_ROUTES = {
    'create_session': TinkerService.create_session,
    'session_heartbeat': TinkerService.session_heartbeat,
    'client/config': TinkerService.client_config,
    'telemetry': TinkerService.telemetry,
    'create_model': TinkerService.create_model,
    'get_info': TinkerService.get_info,
    'unload_model': TinkerService.unload_model,
    'forward_backward': TinkerService.forward_backward,
    'forward': TinkerService.forward,
    'optim_step': TinkerService.optim_step,
    'save_weights': TinkerService.save_weights,
    'save_weights_for_sampler': TinkerService.save_weights_for_sampler,
    'load_weights': TinkerService.load_weights,
    'create_sampling_session': TinkerService.create_sampling_session,
    'asample': TinkerService.asample,
    'retrieve_future': TinkerService.retrieve_future,
    'selfplay/move_reference': TinkerService.move_reference,
}

# Routes whose bodies may be training-sized (read under the train gate and its limits).
LARGE_BODY_ROUTES = ('forward_backward', 'forward')
