import { hostname } from 'node:os';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { connect, TimeoutError, type NatsConnection, type QueuedIterator } from '@nats-io/transport-node';
import { z } from 'zod';
import { ConfigError } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { validateEpisode } from '../episodes/schema.ts';
import { WaitQueue, type ActorLearnerLink, type MatchJob, type MatchReport, type PolicyVersion } from './actor-learner.ts';

export interface NatsLinkOptions<S, R = Episode> {
  /** The server, `nats://host:port` (JetStream enabled: `nats-server -js`). */
  readonly url: string;
  /** The run: its streams and bucket are named after it, so several runs share one server (letters, digits, `-`, `_`). */
  readonly run: string;
  /** The learner creates the run's streams, consumers and bucket; actors find them (the learner must have started). */
  readonly side: 'learner' | 'actor';
  /** What a job's spec must look like: every message from another process is checked. */
  readonly spec: z.ZodType<S>;
  /** How a report's result travels (default: an episode record as it is, checked on arrival). */
  readonly result?: ResultCodec<R>;
  /** Jobs handed to actors and not yet reported, at most (default 256): JetStream's max_ack_pending. */
  readonly maxAckPending?: number;
  /**
   * Seconds after which a job whose actor went silent goes to another actor (default 30). A live actor
   * tells the server it is still at work on its jobs every third of that, however long its matches take.
   */
  readonly ackWaitSeconds?: number;
  /** Seconds a learner that stopped renewing its hold on the run (a killed one) keeps it from another (default 30). */
  readonly leaseSeconds?: number;
  /** Messages the server may send ahead of what this side has taken (default: 16 jobs to an actor, 1,024 reports to the learner). */
  readonly prefetch?: number;
  /**
   * Milliseconds one request that sets the run up (a stream, a consumer, a bucket) may take before it is
   * sent again (default 30,000); setting up gives up after SETUP_TRIES unanswered tries of one request.
   */
  readonly setupTimeoutMs?: number;
  /** Told, in a line, of each setup request the server left unanswered and that is sent again. */
  readonly log?: (line: string) => void;
}

/** A result in a JSON message: `decode` checks one from another process, throwing when it is not one. */
export interface ResultCodec<R> {
  encode(result: R): unknown;
  decode(data: unknown): R;
}

const episodeCodec: ResultCodec<Episode> = { encode: (episode) => episode, decode: validateEpisode };

/** The link over NATS, where the learner also writes the run's description: what actors need to know to play its matches (see readRunDescription). */
export interface NatsLink<S, R = Episode> extends ActorLearnerLink<S, R> {
  describe(description: unknown): Promise<void>;
}

const RUN_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** How long a write to the server is retried (while it restarts, say) before the link gives up. */
const RETRY_MS = 60_000;
const DEFAULT_ACK_WAIT_SECONDS = 30;
const SECOND_NS = 1_000_000_000;

const versionSchema = z.object({ model: z.string(), version: z.number().int(), data: z.string().optional() });

/** The run's names on the server. */
interface RunNames {
  readonly jobsStream: string;
  readonly jobs: string;
  readonly episodesStream: string;
  readonly episodes: string;
  readonly bucket: string;
  readonly lease: string;
}

function names(run: string): RunNames {
  if (!RUN_NAME.test(run)) throw new ConfigError(`a run on the bus is named with letters, digits, "-" and "_" (at most 64), not "${run}"`);
  return {
    jobsStream: `SELFPLAY_${run}_JOBS`,
    jobs: `selfplay.${run}.jobs`,
    episodesStream: `SELFPLAY_${run}_EPISODES`,
    episodes: `selfplay.${run}.episodes`,
    bucket: `selfplay_${run}_versions`,
    lease: `selfplay_${run}_lease`,
  };
}

/**
 * How long a request that sets a run up (adding a stream, creating a bucket)
 * may take: a server that has just restarted recovers its streams first, and
 * a busy machine answers late, both past the client's 5 s default. (Writes
 * during a run keep the default: they are retried instead.)
 */
const JETSTREAM_TIMEOUT_MS = 30_000;
/**
 * Tries of one setup request that went unanswered before setting up fails.
 * Every setup request is idempotent (adding what exists with the same
 * configuration is a no-op; taking the run checks whether the lost answer
 * was its own), so a request whose answer was late is simply sent again.
 */
const SETUP_TRIES = 4;

/** A setup request the server left unanswered SETUP_TRIES times: like an unreachable server, for the user to see to. */
class UnansweredError extends ConfigError {}

/** Runs one step of setting a run up, sending it again while the server leaves it unanswered. */
async function settingUp<T>(what: string, timeoutMs: number, step: () => Promise<T>, log?: (line: string) => void): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      if (tries === SETUP_TRIES) throw new UnansweredError(`${what} on the NATS server went unanswered ${SETUP_TRIES} times (${timeoutMs / 1000} s each): is the server overloaded or stopped?`);
      log?.(`${what}: the NATS server has not answered in ${timeoutMs / 1000} s; asking again (try ${tries + 1} of ${SETUP_TRIES})`);
    }
  }
}

async function managerOf(nc: NatsConnection, url: string, timeoutMs = JETSTREAM_TIMEOUT_MS, log?: (line: string) => void): Promise<JetStreamManager> {
  return settingUp('asking for JetStream', timeoutMs, () => jetstreamManager(nc, { timeout: timeoutMs }), log).catch((error: Error) => {
    if (error instanceof UnansweredError) throw error;
    throw new ConfigError(`JetStream is not enabled on the NATS server at ${url} (start it with -js): ${error.message}`);
  });
}

async function findRun(jsm: JetStreamManager, n: RunNames, options: { readonly url: string; readonly run: string }): Promise<void> {
  await jsm.streams.info(n.jobsStream).catch((error: Error) => {
    if (error instanceof TimeoutError) throw error;
    throw new ConfigError(`no run "${options.run}" on the NATS server at ${options.url}: start its learner first`);
  });
}

/**
 * The description the learner of run `run` wrote for its actors (what they
 * play), waiting up to `timeoutMs` for the run and its description to appear.
 */
export async function readRunDescription(options: { readonly url: string; readonly run: string; readonly timeoutMs?: number }): Promise<unknown> {
  const n = names(options.run);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const nc = await reach(options.url);
  try {
    const jsm = await managerOf(nc, options.url);
    for (;; await new Promise((resolve) => setTimeout(resolve, 100))) {
      try {
        await findRun(jsm, n, options);
      } catch (error) {
        if (Date.now() >= deadline) throw error;
        continue;
      }
      // A learner that is starting may not have made the bucket yet.
      const entry = await new Kvm(jetstream(nc, { timeout: JETSTREAM_TIMEOUT_MS }))
        .open(n.bucket)
        .then((kv) => kv.get('run'))
        .catch(() => null);
      if (entry?.value.length) return entry.json();
      if (Date.now() >= deadline) throw new ConfigError(`run "${options.run}" has no description: its learner has not written one within ${timeoutMs / 1000} s`);
    }
  } finally {
    await nc.close();
  }
}

async function reach(url: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, maxReconnectAttempts: -1 });
  } catch (error) {
    throw new ConfigError(`cannot reach the NATS server at ${url}: ${(error as Error).message}`);
  }
}

/**
 * The actor/learner boundary over NATS JetStream, for actors in other
 * processes or machines (DESIGN.md). Jobs go into a work-queue stream that
 * actors share through one durable pull consumer with explicit acks: a job
 * is removed when its actor has reported it, and one whose actor dies
 * unreported goes to another after `ackWaitSeconds`. Reports go into a
 * replayable episodes stream (limits retention) that the learner reads
 * through its own durable consumer; each report carries its job id as its
 * message id, so a job played twice is stored once (within JetStream's
 * duplicate window). Versions live in a key-value bucket that actors watch.
 * Weights never travel on it: only names and numbers.
 */
export async function connectNatsLink<S, R = Episode>(options: NatsLinkOptions<S, R>): Promise<NatsLink<S, R>> {
  const n = names(options.run);
  const timeoutMs = options.setupTimeoutMs ?? JETSTREAM_TIMEOUT_MS;
  const step = <T>(what: string, request: () => Promise<T>) => settingUp(`${what} of run "${options.run}"`, timeoutMs, request, options.log);
  const nc = await reach(options.url);
  try {
    const jsm = await managerOf(nc, options.url, timeoutMs, options.log);
    const js = jetstream(nc, { timeout: timeoutMs });
    const kvm = new Kvm(js);
    if (options.side === 'learner') {
      await step('adding the jobs stream', () => jsm.streams.add({ name: n.jobsStream, subjects: [n.jobs], retention: RetentionPolicy.Workqueue, storage: StorageType.File }));
      await step('adding the episodes stream', () => jsm.streams.add({ name: n.episodesStream, subjects: [n.episodes], retention: RetentionPolicy.Limits, storage: StorageType.File }));
      await step('adding the actors\' consumer', () =>
        jsm.consumers.add(n.jobsStream, {
          durable_name: 'actors',
          ack_policy: AckPolicy.Explicit,
          max_ack_pending: options.maxAckPending ?? 256,
          ack_wait: (options.ackWaitSeconds ?? DEFAULT_ACK_WAIT_SECONDS) * SECOND_NS,
        }),
      );
      await step('adding the learner\'s consumer', () => jsm.consumers.add(n.episodesStream, { durable_name: 'learner', ack_policy: AckPolicy.Explicit }));
    } else await step('finding the jobs stream', () => findRun(jsm, n, options));
    const lease = options.side === 'learner' ? await holdRun(kvm, n, options, step) : undefined;
    const kv = await step('opening the versions bucket', () => (options.side === 'learner' ? kvm.create(n.bucket) : kvm.open(n.bucket)));
    const consumer = await step('finding its consumer', () => js.consumers.get(options.side === 'learner' ? n.episodesStream : n.jobsStream, options.side === 'learner' ? 'learner' : 'actors'));
    const prefetch = options.prefetch ?? (options.side === 'learner' ? 1024 : 16);
    const result = options.result ?? (episodeCodec as unknown as ResultCodec<R>);
    const link = await BusLink.open(nc, jsm, kv, consumer.consume({ max_messages: prefetch }), prefetch, n, options.spec, result, lease);
    if (options.side === 'actor') {
      const info = await step('reading the actors\' consumer', () => consumer.info(true));
      link.keepAlive((info.config.ack_wait ?? DEFAULT_ACK_WAIT_SECONDS * SECOND_NS) / SECOND_NS);
    }
    return link;
  } catch (error) {
    await nc.close();
    throw error;
  }
}

type SetupStep = <T>(what: string, request: () => Promise<T>) => Promise<T>;

/**
 * Takes the run for this learner: a key that lives `leaseSeconds` unless
 * renewed (a third of that apart), so that a second learner of the same run
 * is refused while the first lives, and a killed one frees the run soon.
 * Returns what releases it.
 */
async function holdRun(kvm: Kvm, n: RunNames, options: NatsLinkOptions<unknown, unknown>, step: SetupStep): Promise<() => Promise<void>> {
  const seconds = options.leaseSeconds ?? 30;
  const kv = await step('opening the lease bucket', () => kvm.create(n.lease, { ttl: seconds * 1000 }));
  const holder = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  // Whoever holds the run when this learner's claim is refused: itself, when an earlier try's answer was lost.
  const other = await step('taking the run', () =>
    kv.create('learner', holder).then(
      () => undefined,
      async (error: Error) => {
        if (error instanceof TimeoutError) throw error;
        const entry = await kv.get('learner').catch((lost: Error) => {
          if (lost instanceof TimeoutError) throw lost;
          return null;
        });
        return entry?.value.length ? entry.string() : '';
      },
    ),
  );
  if (other !== undefined && other !== holder) {
    throw new ConfigError(`another learner holds run "${options.run}"${other ? ` (${other})` : ''}; one that was killed frees it within ${seconds} s`);
  }
  const renew = setInterval(() => void kv.put('learner', holder).catch(() => undefined), (seconds * 1000) / 3);
  renew.unref();
  return async () => {
    clearInterval(renew);
    await kv.delete('learner').catch(() => undefined);
  };
}

class BusLink<S, R> implements NatsLink<S, R> {
  closed = false;
  readonly durable = true;
  private newest: PolicyVersion | undefined;
  /** Jobs this actor holds, by id: acknowledged when reported. */
  private readonly held = new Map<string, JsMsg>();
  private readonly jobSchema: z.ZodType<MatchJob<S>>;

  /** This side's messages as they arrive (jobs for an actor, reports for the learner), taken in order by its callers. */
  private readonly inbox = new WaitQueue<JsMsg>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly kv: KV,
    private messages: ConsumerMessages,
    private readonly jsm: JetStreamManager,
    private readonly prefetch: number,
    private readonly names: RunNames,
    spec: z.ZodType<S>,
    private readonly result: ResultCodec<R>,
    private readonly watch: QueuedIterator<KvWatchEntry>,
    private readonly release: (() => Promise<void>) | undefined,
  ) {
    this.jobSchema = z.object({ id: z.string(), seed: z.number().int(), index: z.number().int().min(0), spec }) as unknown as z.ZodType<MatchJob<S>>;
    this.pump(messages);
    void (async () => {
      for await (const entry of watch) {
        const parsed = versionSchema.safeParse(entry.value.length ? safeParse(entry.string()) : undefined);
        if (parsed.success) this.newest = parsed.data;
      }
    })().catch(() => undefined);
  }

  /**
   * Runs a write until the server takes it or the link closes, waiting longer
   * after each failure, for up to RETRY_MS: a server that restarts loses no
   * report, job or version. Writes carry message ids, so a retry of one that
   * did arrive is stored once.
   */
  private async persist<T>(what: string, write: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + RETRY_MS;
    for (let wait = 100; ; wait = Math.min(2 * wait, 2000)) {
      try {
        return await write();
      } catch (error) {
        if (this.closed || Date.now() + wait > deadline) throw new Error(`${what} on the NATS server failed: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  static async open<S, R>(
    nc: NatsConnection,
    jsm: JetStreamManager,
    kv: KV,
    messages: Promise<ConsumerMessages>,
    prefetch: number,
    n: RunNames,
    spec: z.ZodType<S>,
    result: ResultCodec<R>,
    release?: () => Promise<void>,
  ): Promise<BusLink<S, R>> {
    const watch = await kv.watch({ key: 'latest' });
    return new BusLink(nc, jetstream(nc), kv, await messages, jsm, prefetch, n, spec, result, watch, release);
  }

  private alive: ReturnType<typeof setInterval> | undefined;

  /** Actor: tells the server, every third of the ack wait, that the jobs it holds or has received are still being worked on. */
  keepAlive(ackWaitSeconds: number): void {
    this.alive = setInterval(() => {
      for (const message of [...this.held.values(), ...this.inbox.peek()]) message.working();
    }, (ackWaitSeconds * 1000) / 3);
    this.alive.unref();
  }

  /** Moves this side's messages into its inbox as they arrive (until they are replaced by replay, or the link closes). */
  private pump(messages: ConsumerMessages): void {
    void (async () => {
      for await (const message of messages) this.inbox.push(message);
    })().catch(() => undefined);
  }

  async replay(position: number): Promise<void> {
    await this.messages.close().catch(() => undefined);
    this.inbox.clear();
    // The learner's consumer again, from the position on: what it acknowledged since is read again, and it drops by id what it has trained.
    await this.jsm.consumers.delete(this.names.episodesStream, 'learner');
    await this.jsm.consumers.add(this.names.episodesStream, {
      durable_name: 'learner',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: position,
    });
    this.messages = await (await this.js.consumers.get(this.names.episodesStream, 'learner')).consume({ max_messages: this.prefetch });
    this.pump(this.messages);
  }

  async describe(description: unknown): Promise<void> {
    await this.persist('writing the run', () => this.kv.put('run', JSON.stringify(description)));
  }

  async handOut(jobs: readonly MatchJob<S>[]): Promise<void> {
    await Promise.all(jobs.map((job) => this.persist('handing out a match', () => this.js.publish(this.names.jobs, JSON.stringify(job), { msgID: job.id }))));
  }

  async publish(version: PolicyVersion): Promise<void> {
    this.newest = version;
    await this.persist('publishing a version', () => this.kv.put('latest', JSON.stringify(version)));
  }

  latest(): PolicyVersion {
    if (!this.newest) throw new Error('no version has been published on this run yet');
    return this.newest;
  }

  async fetchLatest(): Promise<PolicyVersion> {
    const entry = await this.persist('reading the newest version', () => this.kv.get('latest'));
    const parsed = versionSchema.safeParse(entry?.value.length ? safeParse(entry.string()) : undefined);
    if (!parsed.success) throw new Error('no version has been published on this run yet');
    return parsed.data;
  }

  /** The next message of this side's consumer, waiting for one; undefined once closed. */
  private next(): Promise<JsMsg | undefined> {
    return this.inbox.take();
  }

  async nextJob(): Promise<MatchJob<S> | undefined> {
    for (let message = await this.next(); message; message = await this.next()) {
      const parsed = this.jobSchema.safeParse(safeJson(message));
      if (!parsed.success) {
        // Not a job this actor can play: dropped for good rather than redelivered forever.
        message.term();
        continue;
      }
      // A version to play it with, before the job is taken (the learner publishes the first before any job).
      while (!this.newest && !this.closed) await new Promise((resolve) => setTimeout(resolve, 20));
      this.held.set(parsed.data.id, message);
      return parsed.data;
    }
    return undefined;
  }

  async report(report: MatchReport<S, R>): Promise<void> {
    const message = JSON.stringify('result' in report ? { ...report, result: this.result.encode(report.result) } : report);
    await this.persist('reporting a match', () => this.js.publish(this.names.episodes, message, { msgID: report.job.id }));
    this.held.get(report.job.id)?.ack();
    this.held.delete(report.job.id);
  }

  async nextReport(): Promise<MatchReport<S, R> | undefined> {
    for (let message = await this.next(); message; message = await this.next()) {
      message.ack();
      const report = readReport(safeJson(message), this.jobSchema, this.result.decode);
      if (report) return { ...report, position: message.seq };
    }
    return undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.alive);
    // Jobs held or received and not reported go back to the queue at once, for another actor.
    for (const message of [...this.held.values(), ...this.inbox.end()]) message.nak();
    this.held.clear();
    await this.messages.close().catch(() => undefined);
    this.watch.stop();
    await this.release?.();
    await this.nc.drain().catch(() => this.nc.close());
  }
}

function safeJson(message: JsMsg): unknown {
  return safeParse(message.string());
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A report from another process, checked: its job, a version, and a valid result or an error; undefined if malformed. */
function readReport<S, R>(data: unknown, jobSchema: z.ZodType<MatchJob<S>>, readResult: (data: unknown) => R): MatchReport<S, R> | undefined {
  const base = z.object({ job: jobSchema, version: z.number().int(), result: z.unknown().optional(), error: z.string().optional() }).safeParse(data);
  if (!base.success) return undefined;
  const { job, version, result, error } = base.data;
  if (error !== undefined) return { job, version, error };
  try {
    return { job, version, result: readResult(result) };
  } catch {
    return undefined;
  }
}
