// Run by `npm test` before the tests: the system packages some tests need, from Debian.
// As root (CI, a fresh container) it installs what is missing; otherwise it says what to run.
import { execFileSync, spawnSync } from 'node:child_process';

const NEEDED = [
  { pkg: 'chromium', why: 'the tournament page tests drive it', present: () => found('chromium', ['--version']), recommends: true },
  // Its recommends would bring a compiler toolchain and CUDA stubs that the tests never use.
  { pkg: 'python3-torch', why: 'the policy host tests run PyTorch', present: () => found('/usr/bin/python3', ['-c', 'import torch']), recommends: false },
  { pkg: 'nats-server', why: 'the NATS JetStream link tests run a server', present: () => found('nats-server', ['--version']), recommends: false },
  { pkg: 'python3-jinja2', why: 'the chat template tests render with jinja2 as the truth', present: () => found('/usr/bin/python3', ['-c', 'import jinja2']), recommends: false },
];

function found(command, args) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((need) => !need.present());
if (missing.length > 0) {
  const installs = [missing.filter((need) => need.recommends), missing.filter((need) => !need.recommends)]
    .filter((group) => group.length > 0)
    .map((group) => ['install', '-y', ...(group[0].recommends ? [] : ['--no-install-recommends']), ...group.map((need) => need.pkg)]);
  const command = ['apt-get update', ...installs.map((args) => `apt-get ${args.join(' ')}`)].join(' && ');
  for (const need of missing) console.error(`tests need Debian's ${need.pkg}: ${need.why}`);
  if (process.getuid?.() !== 0 || !found('apt-get', ['--version'])) {
    console.error(`install them first, as root:\n  ${command}`);
    process.exit(1);
  }
  console.error(`installing: ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    for (const args of installs) execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch {
    console.error(`installing failed; run it by hand:\n  ${command}`);
    process.exit(1);
  }
  const still = missing.filter((need) => !need.present()).map((need) => need.pkg);
  if (still.length > 0) {
    console.error(`still missing after the install: ${still.join(', ')}`);
    process.exit(1);
  }
}
