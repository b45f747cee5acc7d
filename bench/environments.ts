import { lastValueFrom, toArray } from 'rxjs';
import { environmentPlayers } from '../agents/environment.ts';
import { environments } from '../environments/index.ts';
import { runEnvironment } from '../src/runtime/environment.ts';
import { table } from './measure.ts';

/** Each environment with its default options: 200 matches, every role scripted, in this process. */
export async function benchEnvironments(): Promise<string> {
  const rows: Record<string, string | number>[] = [];
  for (const [name, entry] of Object.entries(environments)) {
    const environment = await entry.create({});
    const started = performance.now();
    const episodes = await lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches: 200, seed: 1 }).pipe(toArray()));
    const seconds = (performance.now() - started) / 1000;
    const normal = episodes.filter((e) => e.outcome === 'normal').length;
    rows.push({ environment: name, roles: [...new Set(environment.roles)].join(', '), matches: `${normal} of ${episodes.length} normal`, seconds: seconds.toFixed(2), target: '< 60 s' });
  }
  return table(rows);
}
