// pino writes every key it is given, in order, and merges none: a line's field or a child's binding named like one
// pino writes itself (level, time, msg, pid, hostname), or like one already bound (scope, jobId), comes out as a
// second "scope":… in the same JSON object, which most readers resolve to the last and some reject. This renames
// such keys (a trailing "_": scope_) and drops a binding that repeats one already bound with the same value, for both
// wings' adapters (inference/log.ts and bots/core/logger.ts).

/** Keys pino writes on every line itself. `scope` is ours, bound once by createLogger or a child. */
export const RESERVED_LOG_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/**
 * A line's fields without a key written twice: a reserved key, or one bound with another value, renamed (key_); one
 * bound with the same value (a jobId given again on a job's logger) dropped.
 */
export function lineFields(fields: Record<string, unknown>, bound: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const clash = (k: string) => RESERVED_LOG_KEYS.has(k) || k === 'scope' || k in bound;
  if (!Object.keys(fields).some(clash)) return fields;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!clash(key)) out[key] = value;
    else if (!(key in bound) || bound[key] !== value) out[`${key}_`] = value;
  }
  return out;
}

/**
 * A child's bindings against what its parent binds: a key bound again with the same value is dropped (a job's id
 * bound twice on the way down), one with another value or a reserved name is renamed (key_). `scope` may be bound
 * once, where none is.
 */
export function childBindings(bindings: Record<string, unknown>, bound: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(bindings)) {
    if (key in bound) {
      if (bound[key] !== value) out[`${key}_`] = value;
    } else out[RESERVED_LOG_KEYS.has(key) ? `${key}_` : key] = value;
  }
  return out;
}
