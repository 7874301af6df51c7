// The cluster's atomic steps, as Redis Lua scripts: each one reads and writes a job's record (and the fair rounds)
// in one step, so two gateways admitting the same request_id, a worker presumed dead waking up, or a Cancel racing a
// start cannot interleave. docs/cluster.md describes the record; keys.ts names the keys.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Final states: a record in one of them takes no more events. */
export const FINAL_STATES = ['done', 'failed', 'cancelled'] as const;
export type FinalState = (typeof FINAL_STATES)[number];

// Lua shared by the scripts below, written once: the final states, and an owner's waiting job leaving the line.
// RELEASE(owner) needs KEYS named WAITING and WAITING_TOTAL defined by the script that includes it.
const LUA_COMMON = `
local function isFinal(state) return state == 'done' or state == 'failed' or state == 'cancelled' end
local function release(waitingKey, totalKey, owner)
  if not owner then return end
  local left = redis.call('HINCRBY', waitingKey, owner, -1)
  if left <= 0 then redis.call('HDEL', waitingKey, owner) end
  if redis.call('DECR', totalKey) < 0 then redis.call('SET', totalKey, 0) end
end
`;

/** Codes after which the same request_id may be sent again and runs anew: its job was lost, not refused or failed. */
export const RESENDABLE_CODES = ['WORKER_CRASHED', 'QUEUE_UNAVAILABLE'] as const;

// Admission: idempotency, ownership, the queue caps and the fair round, in one step.
// KEYS: record, rounds, round, waiting (hash owner → jobs waiting), prioritized (BullMQ), wait (BullMQ),
//       waitingTotal, lastAdmit, events
// ARGV: requester, fingerprint, owner, maxQueued, maxQueuedPerOwner, jobTtlSeconds
// → { 'exists', requester, fingerprint, state } | { 'full', waiting, ownerWaiting } | { 'admitted', round }
// Jobs waiting are counted here (waitingTotal), not read from BullMQ alone: a burst of admissions is on its way to
// BullMQ's sets while the next one runs, and must not look like an empty line (which restarts the rounds).
const ADMIT = LUA_COMMON + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local r = redis.call('HMGET', KEYS[1], 'requester', 'fingerprint', 'state', 'code')
  -- A job the cluster lost (its workers died, or Redis lost it) told its person to send it again: the same request
  -- from the same requester runs anew instead of replaying the loss.
  local lost = r[3] == 'failed' and (r[4] == '${RESENDABLE_CODES[0]}' or r[4] == '${RESENDABLE_CODES[1]}')
  if not (lost and r[1] == ARGV[1] and r[2] == ARGV[2]) then
    return { 'exists', r[1] or '', r[2] or '', r[3] or '' }
  end
  redis.call('DEL', KEYS[1], KEYS[9])
end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local queued = redis.call('ZCARD', KEYS[5]) + redis.call('LLEN', KEYS[6])
local total = tonumber(redis.call('GET', KEYS[7]) or '0')
if queued == 0 and (total <= 0 or nowMs - tonumber(redis.call('GET', KEYS[8]) or '0') > 10000) then
  -- Nothing waits (what is still counted 10 s after the last admission never reached the queue: a gateway died
  -- between its admission and BullMQ's add). The rounds start again from 0 (BullMQ priorities are bounded).
  redis.call('DEL', KEYS[2], KEYS[4])
  redis.call('SET', KEYS[3], 0)
  redis.call('SET', KEYS[7], 0)
  total = 0
end
local waiting = math.max(total, queued)
local ownerWaiting = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '0')
if waiting >= tonumber(ARGV[4]) or ownerWaiting >= tonumber(ARGV[5]) then
  return { 'full', tostring(waiting), tostring(ownerWaiting) }
end
local serving = tonumber(redis.call('GET', KEYS[3]) or '0')
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '-1')
local round = math.max(last + 1, serving)
redis.call('HSET', KEYS[2], ARGV[3], round)
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
redis.call('INCR', KEYS[7])
redis.call('SET', KEYS[8], nowMs)
redis.call('HSET', KEYS[1], 'requester', ARGV[1], 'fingerprint', ARGV[2], 'owner', ARGV[3], 'round', round, 'state', 'queued', 'attempt', 0)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return { 'admitted', tostring(round) }
`;

// A worker starts an attempt: it takes the next attempt number as its fence and raises the round being served.
// KEYS: record, round, waiting, waitingTotal   ARGV: workerId
// → { 'gone' } | { 'final', state } | { 'ok', attempt, cancelReason, cancelCode }
const CLAIM = LUA_COMMON + `
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'gone' } end
local r = redis.call('HMGET', KEYS[1], 'state', 'owner', 'round', 'cancel', 'cancel_code')
local state = r[1]
if isFinal(state) then return { 'final', state } end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
if attempt == 1 then release(KEYS[3], KEYS[4], r[2]) end
redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[1])
local serving = tonumber(redis.call('GET', KEYS[2]) or '0')
local round = tonumber(r[3] or '0')
if round > serving then redis.call('SET', KEYS[2], round) end
return { 'ok', tostring(attempt), r[4] or '', r[5] or '' }
`;

// Adds one entry to a job's events, fenced: only the current attempt ('*': any, for a gateway ending a job that no
// worker runs) and never after the end. An 'x' entry (the end) sets the final state and the result TTL in the same step.
// KEYS: record, events, waiting, waitingTotal
// ARGV: attempt, kind, payload, maxlen, jobTtl, resultTtl, finalState, code, message
// → 'ok' | 'gone' | 'fenced' | 'final' | 'cancel' (the job was marked cancelled: the worker stops it, even if the
//   cancel channel's message never reached it, since pub/sub delivers at most once)
const PUBLISH = LUA_COMMON + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local r = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'owner', 'cancel')
local state = r[1]
if isFinal(state) then return 'final' end
if ARGV[1] ~= '*' and r[2] ~= ARGV[1] then return 'fenced' end
if r[4] and ARGV[2] ~= 'x' then return 'cancel' end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[4]), '*', 'k', ARGV[2], 'v', ARGV[3])
if ARGV[2] == 'x' then
  -- Ended before any worker took it (cancelled while waiting): it no longer counts against its owner's waiting jobs.
  if state == 'queued' then release(KEYS[3], KEYS[4], r[3]) end
  redis.call('HSET', KEYS[1], 'state', ARGV[7], 'code', ARGV[8], 'message', ARGV[9])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
else
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5]))
end
return 'ok'
`;

// Cancel from any gateway: marks the record so that a worker that starts it or runs it stops, with this code
// (CANCELLED, or DEADLINE_EXCEEDED when the caller's deadline passed) and reason.
// KEYS: record   ARGV: reason, requesterOrEmpty, code   → { 'unknown' } | { 'taken' } | { state }
const MARK_CANCEL = LUA_COMMON + `
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'unknown' } end
local r = redis.call('HMGET', KEYS[1], 'state', 'requester')
if ARGV[2] ~= '' and r[2] ~= ARGV[2] then return { 'taken' } end
local state = r[1]
if isFinal(state) then return { 'finished' } end
redis.call('HSET', KEYS[1], 'cancel', ARGV[1], 'cancel_code', ARGV[3])
return { state }
`;

// Undoes an admission whose BullMQ add failed: the record goes and the owner's place comes back, if no worker has it.
// KEYS: record, waiting, waitingTotal   → 1 (undone) | 0
const UNADMIT = LUA_COMMON + `
local r = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'owner')
if r[1] ~= 'queued' or r[2] ~= '0' then return 0 end
release(KEYS[2], KEYS[3], r[3])
redis.call('DEL', KEYS[1])
return 1
`;

/** SHA-1 of each script, so each call sends 40 bytes (EVALSHA) instead of the script; EVAL loads it when Redis lacks it. */
const SHAS = new Map<string, string>();

async function run(redis: Redis, lua: string, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
  let sha = SHAS.get(lua);
  if (!sha) SHAS.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    // A restarted Redis has no scripts loaded: EVAL runs it and loads it for the next EVALSHA.
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(lua, keys.length, ...keys, ...args);
  }
}

export type AdmitResult =
  | { kind: 'exists'; requester: string; fingerprint: string; state: string }
  | { kind: 'full'; waiting: number; ownerWaiting: number }
  | { kind: 'admitted'; round: number };

export interface AdmitKeys {
  record: string;
  events: string;
  rounds: string;
  round: string;
  waiting: string;
  prioritized: string;
  wait: string;
  waitingTotal: string;
  lastAdmit: string;
}

export async function admitScript(redis: Redis, keys: AdmitKeys, args: { requester: string; fingerprint: string; owner: string; maxQueued: number; maxQueuedPerOwner: number; jobTtlSeconds: number }): Promise<AdmitResult> {
  const r = (await run(redis, ADMIT, [keys.record, keys.rounds, keys.round, keys.waiting, keys.prioritized, keys.wait, keys.waitingTotal, keys.lastAdmit, keys.events], [args.requester, args.fingerprint, args.owner, args.maxQueued, args.maxQueuedPerOwner, args.jobTtlSeconds])) as string[];
  if (r[0] === 'exists') return { kind: 'exists', requester: r[1]!, fingerprint: r[2]!, state: r[3]! };
  if (r[0] === 'full') return { kind: 'full', waiting: Number(r[1]), ownerWaiting: Number(r[2]) };
  return { kind: 'admitted', round: Number(r[1]) };
}

export type ClaimResult = { kind: 'gone' } | { kind: 'final'; state: string } | { kind: 'ok'; attempt: number; cancelReason: string; cancelCode: string };

export async function claimScript(redis: Redis, keys: { record: string; round: string; waiting: string; waitingTotal: string }, workerId: string): Promise<ClaimResult> {
  const r = (await run(redis, CLAIM, [keys.record, keys.round, keys.waiting, keys.waitingTotal], [workerId])) as string[];
  if (r[0] === 'gone') return { kind: 'gone' };
  if (r[0] === 'final') return { kind: 'final', state: r[1]! };
  return { kind: 'ok', attempt: Number(r[1]), cancelReason: r[2] ?? '', cancelCode: r[3] ?? '' };
}

export type PublishResult = 'ok' | 'gone' | 'fenced' | 'final' | 'cancel';

/** The keys a job's events are written under (publishing, and a gateway ending a job). */
export interface EventKeys {
  record: string;
  events: string;
  waiting: string;
  waitingTotal: string;
}

export async function unadmitScript(redis: Redis, keys: { record: string; waiting: string; waitingTotal: string }): Promise<boolean> {
  return (await run(redis, UNADMIT, [keys.record, keys.waiting, keys.waitingTotal], [])) === 1;
}

export interface PublishEntry {
  kind: 'e' | 'c' | 'x';
  payload: Buffer | string;
  /** For 'x': the final state and, unless done, the code and message. */
  end?: { state: FinalState; code: string; message: string };
}

export async function publishScript(redis: Redis, keys: EventKeys, attempt: number | '*', entry: PublishEntry, limits: { maxlen: number; jobTtl: number; resultTtl: number }): Promise<PublishResult> {
  const end = entry.end ?? { state: 'done', code: '', message: '' };
  return (await run(redis, PUBLISH, [keys.record, keys.events, keys.waiting, keys.waitingTotal], [String(attempt), entry.kind, entry.payload, limits.maxlen, limits.jobTtl, limits.resultTtl, end.state, end.code, end.message])) as PublishResult;
}

export type MarkCancelResult = 'unknown' | 'taken' | 'finished' | 'queued' | 'running';

export async function markCancelScript(redis: Redis, record: string, cancel: { reason: string; code: string }, requester: string): Promise<MarkCancelResult> {
  const r = (await run(redis, MARK_CANCEL, [record], [cancel.reason, requester, cancel.code])) as string[];
  return r[0] as MarkCancelResult;
}
