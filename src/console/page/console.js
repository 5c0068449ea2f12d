// The operator console: logs in through the API, shows the fleet's figures as the server pushes
// them over the app's own WebSocket (`watchFleet` -> `fleet`), and opens one room at a time.
// Tokens stay in memory only. Everything from the server is written with textContent.

/** Refresh the access token this long before it expires (at most a quarter of its life). */
const REFRESH_AHEAD_MS = 60_000;
/** After a refresh that failed for want of the network or the server, try again this soon. */
const REFRESH_RETRY_MS = 10_000;
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 15_000;
/** The socket's close code for an expired access token (the server's CloseCode.TokenExpired). */
const TOKEN_EXPIRED = 4401;

/** The fleet table's columns: an InstanceFigures key each, grouped under a heading. */
const GROUPS = [
  {
    label: 'Health',
    columns: [
      { key: 'state', label: 'State', cell: stateBadge },
      { key: 'database', label: 'DB', cell: dependencyBadge },
      { key: 'redis', label: 'Redis', cell: dependencyBadge },
      { key: 'breaker', label: 'Breaker', cell: dependencyBadge },
    ],
  },
  {
    label: 'Load',
    columns: [
      { key: 'connections', label: 'Conns', format: integer },
      { key: 'roomsLive', label: 'Rooms live', format: integer },
      { key: 'messagesPerSecond', label: 'Msg/s', format: rate },
      { key: 'requestsPerSecond', label: 'Req/s', format: rate },
      { key: 'messagesStoredTotal', label: 'Stored', format: integer },
      { key: 'requestsTotal', label: 'Requests', format: integer },
    ],
  },
  {
    label: 'Latency (ms)',
    columns: [
      { key: 'requestP50Ms', label: 'Req p50', format: milliseconds },
      { key: 'requestP99Ms', label: 'Req p99', format: milliseconds },
      { key: 'commitP50Ms', label: 'Commit p50', format: milliseconds },
      { key: 'commitP99Ms', label: 'Commit p99', format: milliseconds },
      { key: 'groupCommitMeanBatch', label: 'Batch', format: decimal },
      { key: 'cacheHitRatio', label: 'Cache hit', format: percent },
    ],
  },
  {
    label: 'Protection',
    columns: [
      { key: 'throttledTotal', label: 'Throttled', format: integer, warn: true },
      { key: 'shedTotal', label: 'Shed', format: integer, warn: true },
      { key: 'slowConsumersDroppedTotal', label: 'Slow dropped', format: integer, warn: true },
      { key: 'seqGapsTotal', label: 'Seq gaps', format: integer, warn: true },
    ],
  },
  {
    label: 'Process',
    columns: [
      { key: 'heapUsedBytes', label: 'Heap', format: bytes },
      { key: 'rssBytes', label: 'RSS', format: bytes },
      { key: 'eventLoopDelayP99Ms', label: 'ELD p99', format: milliseconds },
      { key: 'openFds', label: 'FDs', format: integer },
    ],
  },
];

/** Fleet totals: summed over the instances shown. */
const TOTALS = [
  { key: 'connections', label: 'Connections', format: integer },
  { key: 'roomsLive', label: 'Rooms live', format: integer },
  { key: 'messagesPerSecond', label: 'Messages/s', format: rate },
  { key: 'requestsPerSecond', label: 'Requests/s', format: rate },
  { key: 'messagesStoredTotal', label: 'Stored', format: integer },
  { key: 'throttledTotal', label: 'Throttled', format: integer },
  { key: 'shedTotal', label: 'Shed', format: integer },
  { key: 'slowConsumersDroppedTotal', label: 'Slow dropped', format: integer },
  { key: 'seqGapsTotal', label: 'Seq gaps', format: integer },
];

const session = { accessToken: '', refreshToken: '', username: '', refreshTimer: 0 };
const link = { socket: null, attempts: 0, timer: 0, wanted: false };
const room = { id: '', view: null, loading: false, pending: null };

const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

// ---------------------------------------------------------------------------------------------
// Small DOM helpers: every text goes through textContent, every attribute through setAttribute.

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child !== undefined && child !== null) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function show(node, visible) {
  node.hidden = !visible;
}

function say(node, text, kind = '') {
  node.textContent = text;
  node.className = `message ${kind}`.trim();
  show(node, text !== '');
}

// ---------------------------------------------------------------------------------------------
// Formatting. The raw value stays in data-value; this is only what the operator reads.

const numberFormat = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en', {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

function integer(value) {
  return value === null ? '–' : numberFormat.format(value);
}
function rate(value) {
  return value === null ? '–' : oneDecimal.format(value);
}
function decimal(value) {
  return value === null ? '–' : oneDecimal.format(value);
}
function milliseconds(value) {
  return value === null ? '–' : oneDecimal.format(value);
}
function percent(value) {
  return value === null ? '–' : `${oneDecimal.format(value * 100)} %`;
}
function bytes(value) {
  if (value === null) {
    return '–';
  }
  const mebibytes = value / (1024 * 1024);
  return mebibytes >= 1024
    ? `${oneDecimal.format(mebibytes / 1024)} GiB`
    : `${oneDecimal.format(mebibytes)} MiB`;
}
function rawValue(value) {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
function clock(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString('en-GB');
}
function uptime(startedAt) {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(startedAt).getTime()) / 1000));
  if (seconds < 120) {
    return `${seconds} s`;
  }
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${oneDecimal.format(minutes / 60)} h`;
}

function stateBadge(value) {
  return el('span', { class: `badge state-${value}` }, value.replace('_', ' '));
}
function dependencyBadge(value) {
  const good = value === 'up' || value === 'closed';
  const kind = value === 'absent' ? 'absent' : good ? 'good' : 'bad';
  return el('span', { class: `badge dep-${kind}` }, value);
}

// ---------------------------------------------------------------------------------------------
// The API: JSON over fetch with the access token; one refresh and retry on a 401.

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

async function api(method, path, body, retried = false) {
  const headers = { Accept: 'application/json' };
  if (session.accessToken) {
    headers.Authorization = `Bearer ${session.accessToken}`;
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await response.text();
  const parsed = text ? safeJson(text) : null;
  if (
    response.status === 401 &&
    !retried &&
    session.refreshToken &&
    !path.startsWith('/api/auth/')
  ) {
    await refreshTokens();
    return api(method, path, body, true);
  }
  if (!response.ok) {
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Milliseconds until the JWT's `exp`, or null when it cannot be read. */
function msUntilExpiry(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(payload));
    return typeof exp === 'number' ? exp * 1000 - Date.now() : null;
  } catch {
    return null;
  }
}

function keepTokens(pair) {
  session.accessToken = pair.accessToken;
  session.refreshToken = pair.refreshToken;
  clearTimeout(session.refreshTimer);
  const left = msUntilExpiry(pair.accessToken);
  const delay =
    left === null ? 5 * 60_000 : Math.max(5_000, left - Math.min(REFRESH_AHEAD_MS, left / 4));
  session.refreshTimer = setTimeout(() => void refreshTokens().catch(refreshFailed), delay);
}

let refreshing = null;

/** A new token pair (a refresh token is single use: concurrent callers share one trade). */
function refreshTokens() {
  refreshing ??= api('POST', '/api/auth/refresh', { refreshToken: session.refreshToken })
    .then((pair) => {
      keepTokens(pair);
      sendFrame('auth', { token: pair.accessToken });
    })
    .finally(() => (refreshing = null));
  return refreshing;
}

/** A 401 means the login ended; anything else (network, 503) is tried again shortly. */
function refreshFailed(error) {
  if (error instanceof ApiError && error.status === 401) {
    logOut('Your login ended: log in again.');
    return;
  }
  clearTimeout(session.refreshTimer);
  session.refreshTimer = setTimeout(
    () => void refreshTokens().catch(refreshFailed),
    REFRESH_RETRY_MS,
  );
}

// ---------------------------------------------------------------------------------------------
// Login, refusal and logout.

async function logIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const button = $('login-submit');
  button.disabled = true;
  say($('login-error'), '');
  try {
    const answer = await api('POST', '/api/auth/login', {
      username: String(data.get('username') ?? ''),
      password: String(data.get('password') ?? ''),
    });
    form.reset();
    keepTokens(answer);
    session.username = answer.user?.username ?? '';
    await openConsole();
  } catch (error) {
    say(
      $('login-error'),
      error instanceof ApiError && error.status === 401
        ? 'Wrong username or password.'
        : `Login failed: ${error.message}`,
      'error',
    );
  } finally {
    button.disabled = false;
  }
}

async function openConsole() {
  $('operator').textContent = session.username;
  show($('logout'), true);
  try {
    const fleet = await api('GET', '/api/console/fleet');
    show($('login-view'), false);
    show($('forbidden'), false);
    show($('fleet-view'), true);
    show($('room-view'), true);
    renderFleet(fleet);
    link.wanted = true;
    connect();
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      show($('login-view'), false);
      show($('forbidden'), true);
    } else if (error instanceof ApiError && error.status === 404) {
      say($('login-error'), 'The console is off on this server.', 'error');
    } else {
      say($('login-error'), `The fleet could not be read: ${error.message}`, 'error');
    }
  }
}

function logOut(reason = '') {
  const refreshToken = session.refreshToken;
  if (refreshToken) {
    // Ends the login on the server; nothing to wait for.
    void fetch('/api/auth/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
      credentials: 'omit',
    }).catch(() => undefined);
  }
  clearTimeout(session.refreshTimer);
  Object.assign(session, { accessToken: '', refreshToken: '', username: '' });
  link.wanted = false;
  clearTimeout(link.timer);
  link.socket?.close(1000, 'Logged out');
  link.socket = null;
  closeRoom();
  $('operator').textContent = '';
  show($('logout'), false);
  show($('fleet-view'), false);
  show($('room-view'), false);
  show($('forbidden'), false);
  show($('login-view'), true);
  say($('login-error'), reason, 'error');
  setLinkState('offline');
}

// ---------------------------------------------------------------------------------------------
// The socket: `watchFleet` on open, `fleet` rendered, reconnect with backoff when it drops.

function setLinkState(state) {
  const node = $('link-state');
  node.dataset.state = state;
  node.textContent = state;
}

function sendFrame(event, data) {
  if (link.socket?.readyState === WebSocket.OPEN) {
    link.socket.send(JSON.stringify({ event, data, ref: event }));
  }
}

function connect() {
  clearTimeout(link.timer);
  if (!link.wanted || !session.accessToken) {
    return;
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/ws?token=${encodeURIComponent(session.accessToken)}`;
  const socket = new WebSocket(url);
  link.socket = socket;
  setLinkState('connecting');
  socket.addEventListener('open', () => {
    setLinkState('live');
    sendFrame('watchFleet', {});
  });
  socket.addEventListener('message', (message) => {
    const frame = safeJson(String(message.data));
    if (frame?.event === 'fleet') {
      link.attempts = 0;
      renderFleet(frame.data);
    } else if (frame?.event === 'error' && (frame.ref ?? frame.data?.ref) === 'watchFleet') {
      link.wanted = false;
      socket.close(1000, 'Not watching');
      if (frame.data.code === 'forbidden') {
        show($('fleet-view'), false);
        show($('room-view'), false);
        show($('forbidden'), true);
      }
    }
  });
  socket.addEventListener('close', (closed) => {
    if (link.socket !== socket) {
      return;
    }
    link.socket = null;
    setLinkState(link.wanted ? 'reconnecting' : 'offline');
    if (link.wanted) {
      scheduleReconnect(closed.code);
    }
  });
}

function scheduleReconnect(code) {
  link.attempts += 1;
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** (link.attempts - 1));
  const delay = Math.floor(ceiling / 2 + (Math.random() * ceiling) / 2);
  link.timer = setTimeout(() => {
    const left = msUntilExpiry(session.accessToken);
    // An expired token, or one about to: refresh before the upgrade is refused for it.
    if (code === TOKEN_EXPIRED || left === null || left < REFRESH_AHEAD_MS) {
      refreshTokens().then(connect, (error) => {
        refreshFailed(error);
        if (link.wanted) {
          scheduleReconnect(code);
        }
      });
    } else {
      connect();
    }
  }, delay);
}

// ---------------------------------------------------------------------------------------------
// The fleet view.

function renderFleetHead() {
  const head = $('fleet-table').tHead;
  if (head.rows.length > 0) {
    return;
  }
  const groups = el('tr', { class: 'groups' }, el('th', { rowspan: 2 }, 'Instance'));
  const labels = el('tr');
  for (const group of GROUPS) {
    groups.append(el('th', { colspan: group.columns.length, scope: 'colgroup' }, group.label));
    for (const column of group.columns) {
      labels.append(el('th', { scope: 'col', class: column.format ? 'number' : '' }, column.label));
    }
  }
  head.append(groups, labels);
}

function renderInstance(figures) {
  const row = el('tr', {
    'data-instance-id': figures.instanceId,
    'data-pid': figures.pid,
    'data-reported-at': figures.reportedAt,
    'data-stale': figures.stale ? 'true' : 'false',
    class: figures.stale ? 'stale' : '',
  });
  row.append(
    el(
      'th',
      { scope: 'row', class: 'instance', title: figures.instanceId },
      el('span', { class: 'host' }, `${figures.host}:${figures.pid}`),
      el(
        'span',
        { class: 'subtle small' },
        figures.stale
          ? `stale since ${clock(figures.reportedAt)}`
          : `up ${uptime(figures.startedAt)}`,
      ),
    ),
  );
  for (const group of GROUPS) {
    for (const column of group.columns) {
      const value = figures[column.key] ?? null;
      const warn = column.warn && typeof value === 'number' && value > 0;
      row.append(
        el(
          'td',
          {
            'data-field': column.key,
            'data-value': rawValue(value),
            class: [column.format ? 'number' : '', warn ? 'warn' : ''].join(' ').trim(),
          },
          column.cell ? column.cell(value) : column.format(value),
        ),
      );
    }
  }
  return row;
}

function renderTotals(instances) {
  const live = instances.filter((figures) => !figures.stale);
  const ready = live.filter((figures) => figures.state === 'ready').length;
  const cards = [
    el(
      'div',
      { class: 'total', 'data-testid': 'total-instances', 'data-value': instances.length },
      el('span', { class: 'label' }, 'Instances'),
      el('span', { class: 'value' }, `${ready} / ${instances.length} ready`),
    ),
  ];
  for (const total of TOTALS) {
    const sum = live.reduce((acc, figures) => acc + (figures[total.key] ?? 0), 0);
    cards.push(
      el(
        'div',
        { class: 'total', 'data-testid': `total-${total.key}`, 'data-value': sum },
        el('span', { class: 'label' }, total.label),
        el('span', { class: 'value' }, total.format(sum)),
      ),
    );
  }
  $('fleet-totals').replaceChildren(...cards);
}

function renderFleet(fleet) {
  renderFleetHead();
  const instances = Array.isArray(fleet?.instances) ? fleet.instances : [];
  $('fleet-table').tBodies[0].replaceChildren(...instances.map(renderInstance));
  renderTotals(instances);
  const updated = $('fleet-updated');
  updated.dataset.generatedAt = fleet?.generatedAt ?? '';
  updated.textContent = `Updated ${clock(fleet?.generatedAt)} · ${instances.length} instance${
    instances.length === 1 ? '' : 's'
  } · pushed by the server over /ws`;
  if (room.id && !room.loading && !room.pending) {
    void loadRoom(room.id);
  }
}

// ---------------------------------------------------------------------------------------------
// The room view: live members with two actions each (confirmed first), and the last entries.

async function showRoom(event) {
  event.preventDefault();
  const id = String(new FormData(event.currentTarget).get('roomId') ?? '').trim();
  if (id) {
    room.pending = null;
    say($('room-message'), '');
    await loadRoom(id);
  }
}

async function loadRoom(id) {
  room.loading = true;
  try {
    const view = await api('GET', `/api/console/rooms/${encodeURIComponent(id)}`);
    room.id = id;
    room.view = view;
    renderRoom(view);
  } catch (error) {
    room.id = '';
    show($('room-details'), false);
    show($('room-close'), false);
    say(
      $('room-message'),
      error instanceof ApiError && error.status === 404
        ? 'No such room.'
        : `The room could not be read: ${error.message}`,
      'error',
    );
  } finally {
    room.loading = false;
  }
}

function closeRoom() {
  Object.assign(room, { id: '', view: null, pending: null });
  show($('room-details'), false);
  show($('room-close'), false);
  say($('room-message'), '');
}

function renderRoom(view) {
  const facts = [
    ['Name', view.room.name ?? '–'],
    ['Id', view.room.id],
    ['Visibility', view.room.visibility],
    ['Owner', view.room.ownerId ?? '–'],
    ['Last seq', view.room.lastSeq],
    ['Live members', view.liveMembersTotal ?? view.liveMembers.length],
    ['Instances answered', `${view.instancesAnswered ?? '?'} of ${view.instancesAsked ?? '?'}`],
  ];
  $('room-facts').replaceChildren(
    ...facts.flatMap(([term, value]) => [
      el('dt', {}, term),
      el('dd', { 'data-field': term === 'Last seq' ? 'lastSeq' : undefined }, String(value)),
    ]),
  );
  const members = view.liveMembers.map((member) =>
    el(
      'tr',
      { 'data-user-id': member.userId },
      el('td', {}, member.username),
      el('td', { class: 'id' }, member.userId),
      el('td', { class: 'number', 'data-field': 'connections' }, member.connections ?? ''),
      el('td', { class: 'actions' }, ...memberActions(view.room, member)),
    ),
  );
  if (members.length === 0) {
    members.push(el('tr', {}, el('td', { colspan: 4, class: 'subtle' }, 'Nobody is connected.')));
  }
  $('room-members').tBodies[0].replaceChildren(...members);
  const entries = view.lastEntries.map((entry) =>
    el(
      'tr',
      { 'data-seq': entry.seq },
      el('td', { class: 'number' }, entry.seq),
      el('td', {}, entry.kind),
      el('td', { class: 'id' }, entry.senderId),
      el('td', {}, clock(entry.createdAt)),
    ),
  );
  if (entries.length === 0) {
    entries.push(el('tr', {}, el('td', { colspan: 4, class: 'subtle' }, 'No entries yet.')));
  }
  $('room-entries').tBodies[0].replaceChildren(...entries);
  show($('room-details'), true);
  show($('room-close'), true);
}

const ACTIONS = {
  disconnect: {
    label: 'Close connections',
    confirm: 'Close all connections?',
    run: (roomId, userId) =>
      api('POST', `/api/console/users/${encodeURIComponent(userId)}/disconnect`),
    done: (name) => `Closed ${name}'s connections.`,
  },
  remove: {
    label: 'Remove from room',
    confirm: 'Remove from the room?',
    run: (roomId, userId) =>
      api(
        'DELETE',
        `/api/console/rooms/${encodeURIComponent(roomId)}/members/${encodeURIComponent(userId)}`,
      ),
    done: (name) => `Removed ${name} from the room.`,
  },
};

function memberActions(roomFacts, member) {
  const pending = room.pending;
  if (pending && pending.userId === member.userId) {
    const action = ACTIONS[pending.action];
    return [
      el('span', { class: 'confirm-text' }, action.confirm),
      button(
        'Confirm',
        'danger',
        `confirm-${pending.action}`,
        () => void runAction(roomFacts.id, member, pending.action),
      ),
      button('Cancel', 'small', 'cancel-action', () => {
        room.pending = null;
        renderRoom(room.view);
      }),
    ];
  }
  return Object.entries(ACTIONS).map(([name, action]) =>
    button(action.label, 'small', `action-${name}`, () => {
      room.pending = { userId: member.userId, action: name };
      renderRoom(room.view);
    }),
  );
}

function button(label, kind, testId, onClick) {
  const node = el('button', { type: 'button', class: kind, 'data-testid': testId }, label);
  node.addEventListener('click', onClick);
  return node;
}

async function runAction(roomId, member, name) {
  room.pending = null;
  try {
    await ACTIONS[name].run(roomId, member.userId);
    say($('room-message'), ACTIONS[name].done(member.username), 'ok');
  } catch (error) {
    say($('room-message'), `${ACTIONS[name].label} failed: ${error.message}`, 'error');
  }
  await loadRoom(roomId);
}

// ---------------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', (event) => void logIn(event));
$('room-form').addEventListener('submit', (event) => void showRoom(event));
$('room-close').addEventListener('click', closeRoom);
$('logout').addEventListener('click', () => logOut());
document.documentElement.dataset.consoleReady = 'true';
