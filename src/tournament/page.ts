/**
 * The live page: leaderboard with intervals, live ratings, tournaments,
 * running matches to watch move by move, and a replay viewer for finished
 * ones. Plain HTML and one script, no build step; it reads the JSON API and
 * the /live WebSocket.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>selfplay tournaments</title>
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 1200px; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { padding: .25rem .5rem; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
  th:first-child, td:first-child, td.name { text-align: left; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
  .bar { position: relative; height: .6rem; background: #eee; min-width: 160px; }
  .bar span { position: absolute; top: 0; bottom: 0; background: #7aa7d8; }
  .bar i { position: absolute; top: -2px; bottom: -2px; width: 2px; background: #123; }
  ul { list-style: none; padding: 0; margin: 0; max-height: 18rem; overflow: auto; }
  li { padding: .2rem .3rem; cursor: pointer; border-bottom: 1px solid #f0f0f0; }
  li:hover, li.selected { background: #eef4fb; }
  pre { background: #f7f7f7; padding: .5rem; white-space: pre-wrap; max-height: 16rem; overflow: auto; }
  .muted { color: #888; }
  .bad { color: #b00; }
  #status { float: right; font-size: .85rem; }
  .scope { font-size: .85rem; font-weight: normal; margin-left: 1rem; }
  .join { background: #fff8e1; border: 1px solid #f0d78c; padding: .5rem .75rem; margin: .5rem 0 1rem; }
  .join pre { background: #fffdf5; margin: .4rem 0; }
</style>
</head>
<body>
<h1>selfplay tournaments <span id="status" class="muted">connecting…</span></h1>
<div id="join" class="join" hidden>
  <strong>No matches yet: the tournament's agents must connect.</strong> Register each agent and run it on this server:
  <pre>npx selfplay agents add NAME --db FILE        # prints the agent's token
npx selfplay connect <span class="origin">http://HOST:PORT</span> --token TOKEN --agent random</pre>
  <span class="muted">(<code>--agent</code>: random, mcts, tabular:policy=FILE, llm, ...; <code>--game ./my-game.ts</code> for a game module.)
  Matches start as soon as the agents they pair are connected.</span>
</div>
<h2>Leaderboard <span id="leaderboard-note" class="muted">(Bradley-Terry, Elo scale, 95% bootstrap intervals)</span>
  <label class="scope">ratings of <select id="scope"><option value="">no games yet</option></select></label></h2>
<table id="leaderboard">
  <thead><tr id="leaderboard-head"><th>#</th><th>agent</th><th>version</th><th>rating</th><th>95% interval</th><th></th><th>games</th><th>score</th><th>LOS vs next</th></tr></thead>
  <tbody><tr><td colspan="9" class="muted">no results yet</td></tr></tbody>
</table>
<div class="grid">
  <div>
    <h2>Live ratings <span class="muted">(OpenSkill, <span id="live-scope">no games yet</span>)</span></h2>
    <table id="live-ratings">
      <thead><tr><th>agent</th><th>version</th><th>mu</th><th>sigma</th><th>ordinal</th><th>games</th></tr></thead>
      <tbody></tbody>
    </table>
  </div>
  <div>
    <h2>Tournaments</h2>
    <table id="tournaments">
      <thead><tr><th>name</th><th>game</th><th>format</th><th>status</th><th>done</th><th>running</th><th>pending</th></tr></thead>
      <tbody></tbody>
    </table>
  </div>
</div>
<div class="grid">
  <div>
    <h2>Running matches <span id="running-count" class="muted"></span></h2>
    <ul id="running"></ul>
    <h2>Watching <span id="watch-title" class="muted">nothing: pick a running match</span></h2>
    <pre id="live-match"></pre>
  </div>
  <div>
    <h2>Recent matches</h2>
    <ul id="recent"></ul>
    <h2>Replay <span id="replay-title" class="muted">pick a finished match</span></h2>
    <div id="replay-controls" hidden>
      <button id="replay-prev">◀</button>
      <input id="replay-step" type="range" min="0" value="0">
      <button id="replay-next">▶</button>
      <span id="replay-position"></span>
    </div>
    <pre id="replay"></pre>
  </div>
</div>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, props, ...children) => {
  const node = Object.assign(document.createElement(tag), props || {});
  for (const child of children) node.append(child);
  return node;
};
const fixed = (x, d) => Number(x).toFixed(d);
const who = (p) => p.agent + (p.version && p.version !== '1' ? '@' + p.version : '');

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(path + ': ' + response.status);
  return response.json();
}

const signed = (x, d) => (x > 0 ? '+' : '') + fixed(x, d);

// Games scored in chips (poker) lead with the mean return and its interval: wins alone rank a policy
// that wins small pots often above one that wins more chips. Win/draw/loss games lead with the rating.
function renderLeaderboard(official) {
  const chips = official.scoring === 'chips';
  $('leaderboard-note').textContent = chips
    ? '(scored in chips: mean return per match with its 95% interval; Bradley-Terry rating of wins and losses alongside)'
    : '(Bradley-Terry, Elo scale, 95% bootstrap intervals)';
  const head = chips
    ? ['#', 'agent', 'version', 'mean return', '95% interval', '', 'games', 'rating', 'score']
    : ['#', 'agent', 'version', 'rating', '95% interval', '', 'games', 'score', 'LOS vs next'];
  if ($('leaderboard-head').textContent !== head.join('')) $('leaderboard-head').replaceChildren(...head.map((t) => el('th', { textContent: t })));
  const body = $('leaderboard').tBodies[0];
  body.replaceChildren();
  if (!official.rows.length) {
    body.append(el('tr', {}, el('td', { colSpan: 9, className: 'muted', textContent: 'no results yet' })));
    return;
  }
  const rows = chips ? official.rows.slice().sort((a, b) => b.meanReturn - a.meanReturn) : official.rows;
  const low = (r) => (chips ? r.returnLow : r.low);
  const high = (r) => (chips ? r.returnHigh : r.high);
  const lo = Math.min(...rows.map(low));
  const hi = Math.max(...rows.map(high));
  const x = (v) => (hi === lo ? 50 : ((v - lo) / (hi - lo)) * 100) + '%';
  rows.forEach((r, i) => {
    const bar = el('div', { className: 'bar' }, el('span'), el('i'));
    bar.firstChild.style.left = x(low(r));
    bar.firstChild.style.right = 'calc(100% - ' + x(high(r)) + ')';
    bar.lastChild.style.left = x(chips ? r.meanReturn : r.rating);
    const score = fixed((r.points / Math.max(1, r.games)) * 100, 1) + '%';
    const cells = chips
      ? [signed(r.meanReturn, 3), '[' + signed(r.returnLow, 3) + ', ' + signed(r.returnHigh, 3) + ']', bar, r.games, fixed(r.rating, 0), score]
      : [fixed(r.rating, 0), '[' + fixed(r.low, 0) + ', ' + fixed(r.high, 0) + ']', bar, r.games, score,
          i + 1 < rows.length ? fixed(official.superiority[i][i + 1] * 100, 1) + '%' : ''];
    body.append(el('tr', { className: 'agent-row' },
      el('td', { textContent: i + 1 }),
      el('td', { className: 'name', textContent: r.agent }),
      el('td', { textContent: r.version }),
      ...cells.map((c) => (typeof c === 'object' ? el('td', {}, c) : el('td', { textContent: c })))));
  });
}

// An empty server or tournament says how agents join: nothing is played until they connect.
function renderJoin(tournaments, running) {
  const played = tournaments.reduce((n, t) => n + t.matches.done + t.matches.running, 0);
  $('join').hidden = played > 0 || running > 0;
  for (const node of document.querySelectorAll('#join .origin')) node.textContent = location.origin;
}

// Ratings are per game: the page shows one game (all its tournaments) or one tournament at a time.
let scope = null;
const liveByGame = new Map();

function scopeQuery() {
  if (!scope) return '';
  return '?' + scope.kind + '=' + encodeURIComponent(scope.name);
}

function renderScopes(games, tournaments) {
  const select = $('scope');
  if (!scope && games.length) {
    // The game of the newest tournament.
    const newest = tournaments[tournaments.length - 1];
    scope = { kind: 'game', name: newest && games.includes(newest.game) ? newest.game : games[0] };
  }
  const options = [
    ...games.map((g) => ({ value: 'game:' + g, text: g + ' (all tournaments)' })),
    ...tournaments.map((t) => ({ value: 'tournament:' + t.name, text: t.game + ' · tournament ' + t.name })),
  ];
  const current = scope ? scope.kind + ':' + scope.name : '';
  if (select.dataset.options !== JSON.stringify(options)) {
    select.dataset.options = JSON.stringify(options);
    select.replaceChildren(...(options.length ? options : [{ value: '', text: 'no games yet' }]).map((o) => el('option', { value: o.value, textContent: o.text })));
  }
  select.value = current;
}

function renderLive(rows) {
  const body = $('live-ratings').tBodies[0];
  body.replaceChildren(...rows.map((r) => el('tr', {},
    el('td', { className: 'name', textContent: r.agent }), el('td', { textContent: r.version }),
    el('td', { textContent: fixed(r.mu, 2) }), el('td', { textContent: fixed(r.sigma, 2) }),
    el('td', { textContent: fixed(r.ordinal, 2) }), el('td', { textContent: r.games }))));
}

function renderTournaments(list) {
  const body = $('tournaments').tBodies[0];
  body.replaceChildren(...list.map((t) => el('tr', {},
    el('td', { className: 'name', textContent: t.name }), el('td', { textContent: t.game }),
    el('td', { textContent: t.format.type }), el('td', { textContent: t.status }),
    el('td', { textContent: t.matches.done }), el('td', { textContent: t.matches.running }),
    el('td', { textContent: t.matches.pending }))));
}

let watching = null;
let socket = null;

let runningTotal = 0;
function renderRunning(message) {
  runningTotal = message.total;
  $('running-count').textContent = '(' + message.total + ')';
  $('running').replaceChildren(...message.running.map((m) => {
    const item = el('li', { textContent: m.players.map(who).join(' vs ') + ' · ' + m.game + ' · ' + m.matchId });
    item.dataset.matchId = m.matchId;
    if (m.matchId === watching) item.className = 'selected';
    item.onclick = () => watch(m.matchId);
    return item;
  }));
}

function watch(matchId) {
  watching = matchId;
  $('watch-title').textContent = matchId;
  $('live-match').textContent = '';
  socket.send(JSON.stringify({ type: 'watch', matchId }));
}

// What chance chose (a card dealt) is not sent while a match runs; the replay of the finished match shows it.
function eventLine(e) {
  return e.actor === 'chance' ? 'chance acts (shown in the replay once the match ends)' : 'seat ' + e.actor + ': ' + e.action;
}

function onLive(message) {
  if (message.type === 'matches') renderRunning(message);
  else if (message.type === 'ratings') {
    liveByGame.set(message.game, message.rows);
    if (scope && scope.kind === 'game' && scope.name === message.game) renderLive(message.rows);
  }
  else if (message.type === 'match') {
    $('live-match').textContent = message.match.players.map((p, s) => 'seat ' + s + ': ' + who(p)).join('\\n') + '\\n' + message.events.map(eventLine).join('\\n') + '\\n';
  } else if (message.type === 'event' && message.matchId === watching) {
    $('live-match').textContent += eventLine(message) + '\\n';
  } else if (message.type === 'end' && message.matchId === watching) {
    $('live-match').textContent += 'end: ' + message.outcome + ', returns ' + message.returns.join(' / ') + (message.reason ? ' (' + message.reason + ')' : '') + '\\n';
    loadRecent();
  } else if (message.type === 'error') {
    $('live-match').textContent += message.message + '\\n';
  }
}

function connectLive() {
  socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live');
  socket.onopen = () => {
    $('status').textContent = 'live';
    // After a reconnect, pick the watched match up again (its events so far come with the answer).
    if (watching) socket.send(JSON.stringify({ type: 'watch', matchId: watching }));
  };
  socket.onmessage = (e) => onLive(JSON.parse(e.data));
  socket.onclose = () => {
    $('status').textContent = 'disconnected, retrying…';
    setTimeout(connectLive, 2000);
  };
}

let replaySteps = [];
function showStep(i) {
  const step = replaySteps[i];
  $('replay-step').value = i;
  $('replay-position').textContent = (i + 1) + ' / ' + replaySteps.length;
  $('replay').textContent = step.text;
}

async function replay(matchId) {
  const { match, result, episode } = await getJson('/api/matches/' + encodeURIComponent(matchId));
  $('replay-title').textContent = match.id;
  const players = episode.players.map((p) => 'seat ' + p.seat + ': ' + p.name).join('\\n');
  replaySteps = episode.steps.map((s, i) => ({
    text: players + '\\n\\nstep ' + (i + 1) + ' · ' + (s.seat === 'chance' ? 'chance' : 'seat ' + s.seat) +
      (s.valid ? '' : ' · INVALID: ' + (s.error || '')) + (s.ms !== undefined ? ' · ' + s.ms + ' ms' : '') +
      '\\n\\n' + (s.observation ? s.observation + '\\n\\n' : '') + 'action: ' + s.action,
  }));
  replaySteps.push({ text: players + '\\n\\nend: ' + result.outcome + ', returns ' + result.returns.join(' / ') + (result.reason ? '\\n' + result.reason : '') });
  $('replay-step').max = replaySteps.length - 1;
  $('replay-controls').hidden = false;
  showStep(0);
}

async function loadRecent() {
  const { recent } = await getJson('/api/matches?limit=30');
  $('recent').replaceChildren(...recent.map((r) => {
    const item = el('li', { textContent: r.players.map(who).join(' vs ') + ' · ' + r.returns.join(' / ') + ' · ' + r.outcome });
    item.dataset.matchId = r.matchId;
    item.onclick = () => replay(r.matchId);
    return item;
  }));
}

async function refresh() {
  try {
    const { tournaments } = await getJson('/api/tournaments');
    const games = [...new Set([...tournaments.map((t) => t.game), ...liveByGame.keys()])].sort();
    renderScopes(games, tournaments);
    const board = await getJson('/api/leaderboard' + scopeQuery());
    renderLeaderboard(board.official);
    // A game's live table comes with every change over the live connection; a tournament's with this refresh.
    renderLive(scope && scope.kind === 'game' && liveByGame.has(scope.name) ? liveByGame.get(scope.name) : board.live.rows);
    $('live-scope').textContent = scope ? scope.kind + ' ' + scope.name : 'no games yet';
    renderTournaments(tournaments);
    renderJoin(tournaments, runningTotal);
    await loadRecent();
  } catch (error) {
    $('status').textContent = String(error);
  }
}

$('scope').onchange = (e) => {
  const value = e.target.value;
  const colon = value.indexOf(':');
  scope = colon < 0 ? null : { kind: value.slice(0, colon), name: value.slice(colon + 1) };
  refresh();
};
$('replay-prev').onclick = () => showStep(Math.max(0, Number($('replay-step').value) - 1));
$('replay-next').onclick = () => showStep(Math.min(replaySteps.length - 1, Number($('replay-step').value) + 1));
$('replay-step').oninput = (e) => showStep(Number(e.target.value));
connectLive();
refresh();
setInterval(refresh, 3000);
`;
