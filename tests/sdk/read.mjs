#!/usr/bin/env node
// Drives the official Easemob Web SDK (npm `easemob-websdk`) against a REST base URL and
// prints, as one JSON document on stdout, what the SDK read: the conversation lists (cursor,
// pinned, legacy, legacy paged) and the whole history of the given conversations, paged in
// both directions with `getHistoryMessages` and with the legacy `fetchHistoryMessages`.
//
// The SDK is run as it runs in a browser (its "web" platform, requests through
// XMLHttpRequest), with minimal stand-ins for the browser globals it touches. It logs in
// through its own `open()`, which fetches the token over REST (`POST /{org}/{app}/token`);
// the msync WebSocket that `open()` then tries is refused by a stand-in, which the SDK
// reports as a failed connection after the token is already in place. Every REST read works
// without the socket: the SDK only checks that it holds an app key and a token.
//
// Exit status: 0 on success; 1 on an SDK error or a protocol inconsistency; 2 when a call
// never settles within the per-call timeout; 64 on bad arguments. Diagnostics go to stderr.
//
// Usage: node read.mjs --api-url http://127.0.0.1:PORT --appkey org#app --user U --password P
//                      [--conversation ID]... [--group G]... [--chatroom R]...
//                      [--page-size N] [--list-page-size N] [--legacy-count N]
//                      [--search-types T,T] [--search-from USER] [--search-window START,END]
//                      [--mark N] [--timeout-ms MS] [--verbose]
//
// Each --search-* option adds one more read of every conversation with getHistoryMessages'
// searchOptions (msgTypes, from, startTime/endTime), oldest first. --mark N also reads the
// conversations carrying mark N with getServerConversationsByFilter.

import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Arguments

const USAGE =
  'usage: node read.mjs --api-url URL --appkey ORG#APP --user U --password P ' +
  '[--conversation ID]... [--group G]... [--chatroom R]... [--page-size N] ' +
  '[--list-page-size N] [--legacy-count N] [--search-types T,T] [--search-from USER] ' +
  '[--search-window START,END] [--mark N] [--timeout-ms MS] [--verbose]';

function fail(code, message) {
  process.stderr.write(`read.mjs: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = {
    apiUrl: null,
    appKey: null,
    user: null,
    password: null,
    conversations: [],
    groups: [],
    chatrooms: [],
    pageSize: 20,
    listPageSize: 20,
    legacyCount: 20,
    timeoutMs: 10000,
    mark: null,
    searches: [],
    verbose: false,
  };
  const repeated = { '--conversation': 'conversations', '--group': 'groups', '--chatroom': 'chatrooms' };
  const single = { '--api-url': 'apiUrl', '--appkey': 'appKey', '--user': 'user', '--password': 'password' };
  const numeric = {
    '--page-size': 'pageSize',
    '--list-page-size': 'listPageSize',
    '--legacy-count': 'legacyCount',
    '--timeout-ms': 'timeoutMs',
    '--mark': 'mark',
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg.startsWith('--search-')) {
      if (value === undefined) {
        if (i + 1 >= argv.length) fail(64, `${arg} needs a value`);
        value = argv[++i];
      }
      opts.searches.push(parseSearch(arg, value));
      continue;
    }
    if (arg === '--verbose') {
      opts.verbose = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (!(arg in repeated || arg in single || arg in numeric)) fail(64, `unknown argument ${arg}\n${USAGE}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(64, `${arg} needs a value`);
      value = argv[++i];
    }
    if (arg in repeated) opts[repeated[arg]].push(value);
    else if (arg in single) opts[single[arg]] = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) fail(64, `${arg} needs a positive integer, got ${value}`);
      opts[numeric[arg]] = n;
    }
  }
  for (const [flag, key] of Object.entries(single)) if (!opts[key]) fail(64, `${flag} is required\n${USAGE}`);
  if (opts.appKey.split('#').length !== 2) fail(64, `--appkey must be org#app, got ${opts.appKey}`);
  let url;
  try {
    url = new URL(opts.apiUrl);
  } catch {
    fail(64, `--api-url is not a URL: ${opts.apiUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(64, '--api-url must be http(s)');
  opts.apiUrl = opts.apiUrl.replace(/\/+$/, '');
  opts.origin = url.origin;
  return opts;
}

/** One `searchOptions` of getHistoryMessages from a --search-* option. */
function parseSearch(arg, value) {
  switch (arg) {
    case '--search-types':
      return { msgTypes: value.split(',').filter(Boolean) };
    case '--search-from':
      return { from: value };
    case '--search-window': {
      const [start, end] = value.split(',').map(Number);
      if (!Number.isInteger(start) || !Number.isInteger(end)) fail(64, `--search-window needs START,END in ms`);
      return { startTime: start, endTime: end };
    }
    default:
      return fail(64, `unknown argument ${arg}\n${USAGE}`);
  }
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Browser stand-ins. The SDK picks its "web" platform when `window.WebSocket` exists; it then
// sends every REST call through XMLHttpRequest and reads its device id from localStorage.

// The SDK logs through console (at every level, with its logger fully enabled): keep stdout
// for the JSON document alone.
const stderrLog = (...args) => {
  if (opts.verbose) process.stderr.write(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ') + '\n');
};
function inspect(value) {
  try {
    return safeStringify(value);
  } catch {
    return String(value);
  }
}
for (const level of ['log', 'info', 'debug', 'warn', 'error', 'trace']) console[level] = stderrLog;

/**
 * Every request the SDK made, in order: method, path and query (the cache buster blanked),
 * and the JSON body when there is one (the password in a token request blanked).
 */
const requests = [];
/** Requests aimed anywhere but the API base: the SDK must not phone home during the run. */
const strayRequests = [];
let webSocketAttempts = 0;

function recordedBody(body) {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'password' in parsed) parsed.password = '<password>';
    if (parsed && typeof parsed === 'object' && 'timestamp' in parsed) parsed.timestamp = '<ms>';
    return parsed;
  } catch {
    return body;
  }
}

const XHR2 = require('xhr2');
class RecordingXMLHttpRequest extends XHR2 {
  open(method, url, ...rest) {
    const entry = { method: String(method).toUpperCase(), path: String(url) };
    try {
      const u = new URL(url);
      entry.path = (u.pathname + u.search).replace(/([?&]_v=)\d+/, '$1<ms>');
      if (u.origin !== opts.origin) entry.stray = true;
    } catch {
      entry.stray = true;
    }
    if (entry.stray) {
      strayRequests.push(`${entry.method} ${url}`);
      // Refuse to send it at all: only the server under test is a target.
      url = `${opts.origin}/__stray_request_refused__`;
    }
    this._roamEntry = entry;
    requests.push(entry);
    return super.open(method, url, ...rest);
  }

  send(body) {
    const recorded = recordedBody(body);
    if (recorded !== undefined && this._roamEntry) this._roamEntry.body = recorded;
    return super.send(body);
  }
}

/** The msync socket is not part of the REST protocol under test: refuse to open it. */
const WEBSOCKET_REFUSED = 'roam sdk harness: the msync WebSocket is disabled';
class RefusedWebSocket {
  constructor() {
    webSocketAttempts++;
    throw new Error(WEBSOCKET_REFUSED);
  }
}
RefusedWebSocket.CONNECTING = 0;
RefusedWebSocket.OPEN = 1;
RefusedWebSocket.CLOSING = 2;
RefusedWebSocket.CLOSED = 3;

class MemoryStorage {
  #items = new Map();
  get length() {
    return this.#items.size;
  }
  key(i) {
    return [...this.#items.keys()][i] ?? null;
  }
  getItem(k) {
    return this.#items.has(String(k)) ? this.#items.get(String(k)) : null;
  }
  setItem(k, v) {
    this.#items.set(String(k), String(v));
  }
  removeItem(k) {
    this.#items.delete(String(k));
  }
  clear() {
    this.#items.clear();
  }
}

const g = globalThis;
g.self ??= g;
g.window ??= g;
g.XMLHttpRequest = RecordingXMLHttpRequest;
g.WebSocket = RefusedWebSocket;
if (!('localStorage' in g)) g.localStorage = new MemoryStorage();
if (!('navigator' in g)) g.navigator = { userAgent: 'roam-sdk-harness (Node.js)', onLine: true };

// ---------------------------------------------------------------------------------------------
// The SDK

const WebIM = require('easemob-websdk');
const sdkVersion = require('easemob-websdk/package.json').version;
if (!opts.verbose && WebIM.logger && typeof WebIM.logger.disableAll === 'function') WebIM.logger.disableAll();

class Timeout extends Error {}

/** Awaits `promise`, failing when it has not settled within the per-call timeout. */
function settle(what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Timeout(`${what} did not settle within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Errors the SDK reported through its onError event rather than a rejection. */
const sdkErrors = [];

/** A one-line description of an SDK error (its type, message, data and HTTP status). */
function describeError(err) {
  if (err instanceof Error) return err.message;
  if (err === null || typeof err !== 'object') return String(err);
  const out = {};
  for (const k of ['type', 'message', 'error', 'error_description', 'data']) {
    if (err[k] !== undefined) out[k] = err[k];
  }
  if (err.extraInfo && err.extraInfo.httpCode !== undefined) out.httpCode = err.extraInfo.httpCode;
  if (err.xhr && err.xhr.status !== undefined) out.httpCode = err.xhr.status;
  return safeStringify(Object.keys(out).length ? out : err);
}

/** JSON without cycles and without the SDK's XMLHttpRequest objects. */
function safeStringify(value) {
  const seen = new WeakSet();
  return JSON.stringify(value, (key, v) => {
    if (v instanceof XHR2 || key === 'xhr') return '[XMLHttpRequest]';
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[cycle]';
      seen.add(v);
    }
    return v;
  });
}

async function call(what, thunk) {
  try {
    return await settle(what, Promise.resolve().then(thunk));
  } catch (err) {
    if (err instanceof Timeout) fail(2, err.message);
    fail(1, `${what} failed: ${describeError(err)}`);
  }
}

function check(condition, message) {
  if (!condition) fail(1, message);
}

// ---------------------------------------------------------------------------------------------
// Normalising what the SDK returns: keep every field the SDK set, except volatile ones.

const VOLATILE = new Set(['accessToken', 'onlineState', 'file']);

function message(m) {
  if (m === null || m === undefined) return null;
  if (typeof m !== 'object') return m;
  const out = {};
  for (const [k, v] of Object.entries(m)) if (!VOLATILE.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** A conversation's last message, or null when it has none (the SDK gives `{}` or null). */
function lastMessage(m) {
  const out = message(m);
  return out && typeof out === 'object' && Object.keys(out).length === 0 ? null : out;
}

function conversation(c) {
  const out = {
    id: c.conversationId,
    type: c.conversationType,
    unread: c.unReadCount,
    pinned: c.isPinned,
    pinnedTime: c.pinnedTime,
    lastMessage: lastMessage(c.lastMessage),
  };
  if (c.marks !== undefined) out.marks = c.marks;
  return out;
}

function legacyConversation(c) {
  return { channel_id: c.channel_id, unread_num: c.unread_num, lastMessage: lastMessage(c.lastMessage) };
}

// ---------------------------------------------------------------------------------------------
// Reads

const MAX_PAGES = 10000;

async function login(conn) {
  let loginError = null;
  try {
    await settle('open (REST /token login)', conn.open({ user: opts.user, pwd: opts.password }));
  } catch (err) {
    if (err instanceof Timeout) fail(2, err.message);
    loginError = err;
  }
  // The token comes first; the socket's refusal can only follow a successful token call.
  if (!conn.token || !conn.context.accessToken) {
    fail(1, `login failed: ${loginError ? describeError(loginError) : 'no token'}`);
  }
  check(webSocketAttempts > 0, 'login: the SDK never tried its socket (unexpected SDK flow)');
  const reason = loginError && (loginError.message || (loginError.data && loginError.data.message));
  check(
    !loginError || String(describeError(loginError)).includes(WEBSOCKET_REFUSED) || reason === WEBSOCKET_REFUSED,
    `login: unexpected error after the token call: ${describeError(loginError)}`,
  );
  sdkErrors.length = 0; // The refused socket is reported through onError too.
  return { user: conn.user, expiresIn: conn.expiresIn, grantType: conn.grantType };
}

async function cursorList(conn, what, fn) {
  const out = [];
  const pages = [];
  const seen = new Set();
  let cursor = '';
  for (let page = 0; ; page++) {
    check(page < MAX_PAGES, `${what}: more than ${MAX_PAGES} pages`);
    const args = { pageSize: opts.listPageSize };
    if (cursor) args.cursor = cursor;
    const res = await call(`${what}(${JSON.stringify(args)})`, () => fn(args));
    check(res && res.data && Array.isArray(res.data.conversations), `${what}: no data.conversations`);
    pages.push(res.data.conversations.length);
    out.push(...res.data.conversations.map(conversation));
    cursor = res.data.cursor;
    if (!cursor) break;
    check(!seen.has(cursor), `${what}: cursor ${cursor} repeated`);
    seen.add(cursor);
  }
  return { conversations: out, pages };
}

async function legacyLists(conn) {
  const all = await call('getConversationlist()', () => conn.getConversationlist());
  check(all && all.data && Array.isArray(all.data.channel_infos), 'getConversationlist: no data.channel_infos');
  const paged = [];
  const pages = [];
  for (let pageNum = 1; ; pageNum++) {
    check(pageNum <= MAX_PAGES, `getConversationlist: more than ${MAX_PAGES} pages`);
    const args = { pageNum, pageSize: opts.listPageSize };
    const res = await call(`getConversationlist(${JSON.stringify(args)})`, () => conn.getConversationlist(args));
    check(res && res.data && Array.isArray(res.data.channel_infos), 'getConversationlist(paged): no data.channel_infos');
    const infos = res.data.channel_infos;
    pages.push(infos.length);
    paged.push(...infos.map(legacyConversation));
    if (infos.length < opts.listPageSize) break;
  }
  return { all: all.data.channel_infos.map(legacyConversation), paged, pages };
}

async function historyOneWay(conn, targetId, chatType, direction, searchOptions) {
  const messages = [];
  const pages = [];
  const cursors = [];
  let cursor;
  for (let page = 0; ; page++) {
    check(page < MAX_PAGES, `getHistoryMessages ${targetId} ${direction}: more than ${MAX_PAGES} pages`);
    const args = { targetId, chatType, pageSize: opts.pageSize, searchDirection: direction };
    if (searchOptions) args.searchOptions = searchOptions;
    if (cursor !== undefined) args.cursor = cursor;
    const res = await call(`getHistoryMessages(${JSON.stringify(args)})`, () => conn.getHistoryMessages(args));
    check(res && Array.isArray(res.messages), `getHistoryMessages ${targetId}: no messages array`);
    pages.push(res.messages.length);
    messages.push(...res.messages.map(message));
    if (res.isLast) break;
    check(
      res.cursor !== undefined && res.cursor !== null && res.cursor !== '' && res.cursor !== cursor,
      `getHistoryMessages ${targetId} ${direction}: isLast is false but the cursor did not move (${JSON.stringify(res.cursor)})`,
    );
    check(!cursors.includes(res.cursor), `getHistoryMessages ${targetId} ${direction}: cursor ${res.cursor} repeated`);
    cursors.push(res.cursor);
    cursor = res.cursor;
  }
  return { messages, pages, cursors };
}

async function legacyHistory(conn, queue, isGroup, format) {
  conn.mr_cache = {}; // As the SDK's docs say: start over.
  const messages = [];
  const batches = [];
  for (let i = 0; ; i++) {
    check(i < MAX_PAGES, `fetchHistoryMessages ${queue}: more than ${MAX_PAGES} batches`);
    const args = { queue, isGroup, count: opts.legacyCount };
    if (format) args.format = true;
    const batch = await call(`fetchHistoryMessages(${JSON.stringify(args)})`, () => conn.fetchHistoryMessages(args));
    check(Array.isArray(batch), `fetchHistoryMessages ${queue}: not an array`);
    if (batch.length === 0) break;
    batches.push(batch.length);
    // Each batch is oldest first and goes back in time from the previous one.
    messages.unshift(...batch.map(message));
  }
  return { messages, batches };
}

async function history(conn, targetId, chatType) {
  const up = await historyOneWay(conn, targetId, chatType, 'up');
  const down = await historyOneWay(conn, targetId, chatType, 'down');
  // The legacy call knows single chats and groups only. With `format: true` it returns the
  // same message objects as getHistoryMessages; without, the SDK's older shape (type "chat",
  // contentsType, data), in which it leaves combined messages empty.
  const isGroup = chatType === 'groupChat';
  const legacy = chatType === 'chatRoom' ? null : await legacyHistory(conn, targetId, isGroup, true);
  const legacyRaw = chatType === 'chatRoom' ? null : await legacyHistory(conn, targetId, isGroup, false);
  const out = {
    id: targetId,
    chatType,
    up: up.messages,
    upPages: up.pages,
    upCursors: up.cursors,
    down: down.messages,
    downPages: down.pages,
    downCursors: down.cursors,
  };
  if (legacy) {
    out.legacy = legacy.messages;
    out.legacyBatches = legacy.batches;
    out.legacyRaw = legacyRaw.messages;
  }
  out.searches = [];
  for (const searchOptions of opts.searches) {
    const found = await historyOneWay(conn, targetId, chatType, 'down', searchOptions);
    out.searches.push({ searchOptions, messages: found.messages, pages: found.pages });
  }
  return out;
}

async function main() {
  const conn = new WebIM.connection({
    appKey: opts.appKey,
    apiUrl: opts.apiUrl,
    url: 'ws://127.0.0.1:9/ws', // never opened: see RefusedWebSocket
    isHttpDNS: false, // otherwise the SDK asks Easemob's DNS service for its hosts
    https: opts.apiUrl.startsWith('https:'),
    delivery: false,
  });
  conn.addEventHandler('roam-sdk-harness', {
    onError: (e) => sdkErrors.push(describeError(e)),
  });

  const loginInfo = await login(conn);
  const expires = await call('getTokenExpireTimestamp', () => conn.getTokenExpireTimestamp(conn.token));
  check(expires && typeof expires === 'object', 'getTokenExpireTimestamp: no response');
  loginInfo.tokenExpires = { data: expires.data, type: expires.type, expireTimestamp: expires.expire_timestamp };

  const cursor = await cursorList(conn, 'getServerConversations', (a) => conn.getServerConversations(a));
  const pinned = await cursorList(conn, 'getServerPinnedConversations', (a) => conn.getServerPinnedConversations(a));
  const legacy = await legacyLists(conn);
  const marked = opts.mark === null ? null : await cursorList(conn, 'getServerConversationsByFilter',
    (a) => conn.getServerConversationsByFilter({ ...a, filter: { mark: opts.mark } }));

  const histories = [];
  for (const id of opts.conversations) histories.push(await history(conn, id, 'singleChat'));
  for (const id of opts.groups) histories.push(await history(conn, id, 'groupChat'));
  for (const id of opts.chatrooms) histories.push(await history(conn, id, 'chatRoom'));

  check(sdkErrors.length === 0, `the SDK reported errors: ${sdkErrors.join('; ')}`);
  check(strayRequests.length === 0, `the SDK sent requests elsewhere than --api-url: ${strayRequests.join(', ')}`);

  const doc = {
    sdk: { name: 'easemob-websdk', version: sdkVersion, connectionVersion: conn.version },
    login: loginInfo,
    webSocketAttempts,
    conversations: cursor.conversations,
    conversationPages: cursor.pages,
    pinnedConversations: pinned.conversations,
    pinnedPages: pinned.pages,
    markedConversations: marked && marked.conversations,
    markedPages: marked && marked.pages,
    legacyConversations: legacy.all,
    legacyPagedConversations: legacy.paged,
    legacyPages: legacy.pages,
    histories,
    requests,
  };
  process.stdout.write(JSON.stringify(doc, null, 1) + '\n', () => process.exit(0));
}

process.on('unhandledRejection', (err) => fail(1, `unhandled rejection: ${describeError(err)}`));
main().catch((err) => fail(1, `unexpected: ${err && err.stack ? err.stack : describeError(err)}`));
