import type { Episode } from '../episodes/episode.ts';

const indent = (text: string) => text.split('\n').map((line) => `    ${line}`).join('\n');
const signed = (r: number) => `${r > 0 ? '+' : ''}${r}`;

/** An episode as a person reads it: who played, what each seat saw and did, how it ended. */
export function formatEpisode(episode: Episode): string {
  const lines = [`episode ${episode.id}: ${episode.game.id}${Object.keys(episode.game.params).length ? ` ${JSON.stringify(episode.game.params)}` : ''}, seed ${episode.seed}`];
  for (const p of episode.players) lines.push(`  seat ${p.seat}: ${p.name}${p.role ? ` (${p.role})` : ''}${p.policy ? ` [${p.policy.id}@${p.policy.version}]` : ''}`);
  for (const step of episode.steps) {
    if (step.seat === 'chance') {
      lines.push(`  chance: ${step.action}`);
      continue;
    }
    if (step.observation !== undefined) lines.push(`  seat ${step.seat} sees:`, indent(step.observation));
    const timing = step.ms === undefined ? '' : ` (${step.ms} ms)`;
    if (step.valid) lines.push(`  seat ${step.seat} plays ${step.action}${timing}`);
    else lines.push(`  seat ${step.seat} replied ${JSON.stringify(step.action.length > 200 ? `${step.action.slice(0, 200)}...` : step.action)}: INVALID, ${step.error}${timing}`);
  }
  const how = episode.outcome === 'normal' ? 'the game ended' : `${episode.outcome}${episode.reason ? `: ${episode.reason}` : ''}`;
  lines.push(`  ${how}`);
  lines.push(`  returns: ${episode.returns.map((r, seat) => `seat ${seat} ${signed(r)}`).join(', ')}`);
  return lines.join('\n');
}
