import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, status?: string): void;
  /** Prints a line above the bar (or plainly, when there is no bar). */
  log(line: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr for long runs; it draws only when stderr is a
 * terminal, so piped output and `--json` stay clean.
 */
export function progressBar(label: string, total: number, print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Progress {
  if (!process.stderr.isTTY) return { update: () => undefined, log: print, stop: () => undefined };
  const bars = new cliProgress.MultiBar(
    {
      format: `${label} [{bar}] {percentage}% | eta {eta_formatted} {status}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, 0, { status: '' });
  let last = 0;
  return {
    update(done, status) {
      // Redrawing for every iteration of a fast solver would cost more than the solver.
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      bar.update(done, status === undefined ? undefined : { status });
    },
    log: (line) => bars.log(`${line}\n`),
    stop: () => bars.stop(),
  };
}
