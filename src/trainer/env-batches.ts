import { lastValueFrom, toArray } from 'rxjs';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions } from '../../agents/llm/options.ts';
import { CRITIC_VERDICTS } from '../../agents/roles/critic.ts';
import { roleAgent } from '../../agents/roles/agent.ts';
import { roles as roleDefinitions } from '../../agents/roles/registry.ts';
import type { Role, RolePrompts } from '../../agents/roles/role.ts';
import { modelResponder } from '../../agents/roles/responder.ts';
import { Rng, type Environment } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { playEnvironmentMatch, runEnvironment, type Curriculum, type Player } from '../runtime/index.ts';
import { InProcessLink, runActors, type MatchJob, type PolicyVersion } from './actor-learner.ts';
import { StalenessPacer } from './staleness-pacer.ts';

/** Roles whose whole answer is one of a few texts, which a small model is sampled among (guided choice). */
export const CLOSED_ANSWERS: Readonly<Record<string, readonly string[]>> = { critic: CRITIC_VERDICTS };

/** Who plays an environment's matches: fixed agents in their roles, a version of the learner in the others. */
export interface EnvCast {
  readonly environment: Environment;
  readonly fixed: Readonly<Record<string, Player>>;
  readonly policyId: string;
  /** The OpenAI API root the learner's versions are sampled at. */
  readonly samplingBase: string;
  readonly temperature?: number;
  /** Sample closed answers (the critic's verdict) among those answers only (default true). */
  readonly guidedChoice?: boolean;
  /** The learner's prompts by role, over each role's own. */
  readonly rolePrompts?: RolePrompts;
  readonly curriculum?: Curriculum;
  readonly seed?: number;
  /** Matches in play at once. */
  readonly concurrency: number;
}

/** Every role's player, the learner's at `version`; `close` ends the learner's model clients. */
function castAt(cast: EnvCast, version: PolicyVersion): { players: Record<string, Player>; close(): void } {
  const clients: LlmClient[] = [];
  const learner = (role: keyof typeof roleDefinitions): Player => {
    const client = new LlmClient(resolveLlmOptions({ model: version.model, baseURL: cast.samplingBase, temperature: cast.temperature ?? 1, retries: 2 }, {}));
    clients.push(client);
    const choices = (cast.guidedChoice ?? true) ? CLOSED_ANSWERS[role] : undefined;
    const responder = modelResponder(client, choices ? { guidedChoice: choices } : {});
    return { name: `${cast.policyId}@${version.version}`, agent: roleAgent(roleDefinitions[role](cast.rolePrompts?.[role]) as Role<unknown, unknown>, responder), policy: { id: cast.policyId, version: version.version } };
  };
  const roles = [...new Set(cast.environment.roles)];
  const players = Object.fromEntries(roles.map((role) => [role, cast.fixed[role] ?? learner(role as keyof typeof roleDefinitions)]));
  return { players, close: () => clients.forEach((client) => client.close()) };
}

/** An update's matches, with how many updates older than the weights being trained each one's version is. */
export interface EnvBatch {
  readonly episodes: Episode[];
  readonly ages: readonly number[];
}

/** Where each update's matches come from: played for it (synchronous), or by actors that run ahead (asynchronous). */
export interface EnvBatches {
  /** The next update's matches, played with versions no more than the staleness bound behind `weights`. */
  next(update: number, weights: PolicyVersion): Promise<EnvBatch>;
  /** The update that trained on the last batch published `version`. */
  published(version: PolicyVersion): Promise<void>;
  close(): Promise<void>;
}

/** Synchronous on-policy batches: each update's matches are played by the weights it updates, then trained on. */
export function synchronousBatches(cast: EnvCast, matches: number): EnvBatches {
  return {
    async next(update, weights) {
      const { players, close } = castAt(cast, weights);
      try {
        const episodes = await lastValueFrom(
          runEnvironment({
            environment: cast.environment,
            players,
            matches,
            concurrency: cast.concurrency,
            seed: ((cast.seed ?? 0) * 1_000_003 + update) >>> 0,
            runId: `${cast.environment.id}-u${update + 1}`,
            curriculum: cast.curriculum,
          }).pipe(toArray()),
        );
        return { episodes, ages: episodes.map(() => 0) };
      } finally {
        close();
      }
    },
    published: async () => {},
    close: async () => {},
  };
}

/**
 * Asynchronous batches with bounded staleness (`StalenessPacer`): actors in
 * this process keep playing the environment's matches, each with the newest
 * published version, while the learner trains; an update takes a batch of
 * finished matches, none played by a version more than `maxStaleness` updates
 * behind the weights it updates, and the actors are held back so that no
 * more lag than that builds up. The actors and the learner meet at an
 * `ActorLearnerLink` (matches out, episodes back, versions published), in
 * this process an `InProcessLink`.
 */
export function asynchronousBatches(cast: EnvCast, matches: number, maxStaleness: number, start: { readonly update: number; readonly version: PolicyVersion }): EnvBatches {
  const pacer = new StalenessPacer<MatchJob<null>, Episode>(maxStaleness, matches, start.update);
  // The host numbers versions by optimizer steps; the pacer counts updates.
  const updateOf = new Map<number, number>([[start.version.version, start.update]]);
  const link = new InProcessLink<null>(start.version);
  const stop = new AbortController();
  const root = new Rng(cast.seed ?? 0).split(`${cast.environment.id}-async-u${start.update}`);
  let handedOut = 0;
  const actors = runActors(link, {
    concurrency: cast.concurrency,
    signal: stop.signal,
    play: async (job, version, signal) => {
      const { players, close } = castAt(cast, version);
      try {
        return await playEnvironmentMatch({ environment: cast.environment, players, rng: root.split(job.index), matchId: job.id, curriculum: cast.curriculum, signal });
      } finally {
        close();
      }
    },
  });
  return {
    async next() {
      const jobs: MatchJob<null>[] = [];
      for (let room = pacer.room(); room > 0; room--) {
        const index = handedOut++;
        jobs.push({ id: `${cast.environment.id}-async-u${start.update}-${index}`, seed: 0, index, spec: null });
      }
      pacer.release(jobs);
      await link.handOut(jobs);
      while (!pacer.ready()) {
        const report = await link.nextReport();
        if (!report) throw new Error('the actors stopped before the update had its matches');
        if ('error' in report) throw new Error(`match ${report.job.id} could not be played: ${report.error}`);
        pacer.finish(report.job, updateOf.get(report.version) ?? pacer.version, report.result);
      }
      const batch = pacer.take();
      return { episodes: batch.map((f) => f.result), ages: batch.map((f) => pacer.version - f.version) };
    },
    async published(version) {
      updateOf.set(version.version, pacer.version + 1);
      pacer.published(pacer.version + 1);
      // A version more than K updates behind plays no match that is still out: it need not be looked up again.
      for (const [v, update] of updateOf) if (update < pacer.version - maxStaleness - 1) updateOf.delete(v);
      await link.publish(version);
    },
    async close() {
      stop.abort(new Error('the training run ended'));
      await link.close();
      await actors;
    },
  };
}
