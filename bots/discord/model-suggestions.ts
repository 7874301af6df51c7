// What Discord's autocomplete suggests for /animate's aspect, steps, frames, fps, model and style, from a ListModels
// answer: the model's own aspects and ranges (registration cannot know them: it runs without the daemon, and a
// model's list may grow), so the client helps with values the model takes. Pure functions: the handler that answers
// Discord is autocomplete.ts.
import type { ListModelsResponse__Output, ModelInfo__Output } from '../../shared/rpc/types.ts';
import { sizeForAspect, temporalFactorOf } from '../../shared/wire/model-limits.ts';
import { DEFAULT_FPS } from '../core/options.ts';
import type { AutocompletedOption } from './commands.ts';

/** One suggestion as Discord takes it: a label (≤ 100 characters) and the value the option gets. */
export interface Suggestion {
  name: string;
  value: string | number;
}

/** Discord shows at most 25 suggestions. */
export const MAX_SUGGESTIONS = 25;

const label = (text: string) => (text.length <= 100 ? text : `${text.slice(0, 99)}…`);
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Whole numbers in [min, max] from `candidates`, in order, without repeats. */
function inRange(candidates: readonly number[], min: number, max: number): number[] {
  const out: number[] = [];
  for (const c of candidates) if (Number.isInteger(c) && c >= min && c <= max && !out.includes(c)) out.push(c);
  return out;
}

/** The number the person has typed so far, when it is one. */
function typedNumber(typed: string): number | undefined {
  const t = typed.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

function stepSuggestions(model: ModelInfo__Output, typed: string): Suggestion[] {
  const l = model.limits;
  if (!l || l.maxSteps === 0) return [];
  const d = model.defaults?.steps ?? l.minSteps;
  const values = inRange([typedNumber(typed) ?? NaN, d, Math.round(d / 2), d * 2, l.minSteps, l.maxSteps], l.minSteps, l.maxSteps);
  return values.map((v) => ({ name: label(`${v}${v === d ? ' (default)' : ''} · ${model.name} takes ${l.minSteps}–${l.maxSteps}`), value: v }));
}

function frameSuggestions(model: ModelInfo__Output, typed: string): Suggestion[] {
  const l = model.limits;
  if (!l || l.maxFrames === 0) return [];
  const tf = temporalFactorOf(l);
  const fps = model.defaults?.fps || DEFAULT_FPS;
  const lowest = 1 + Math.ceil((l.minFrames - 1) / tf) * tf;
  const highest = 1 + Math.floor((l.maxFrames - 1) / tf) * tf;
  const d = model.defaults?.frames ?? lowest;
  const grid = (n: number) => 1 + Math.round((n - 1) / tf) * tf;
  const typedValue = typedNumber(typed);
  // What was typed, snapped to the model's grid on both sides, then the default and the ends.
  const near = typedValue === undefined ? [] : [1 + Math.floor((typedValue - 1) / tf) * tf, 1 + Math.ceil((typedValue - 1) / tf) * tf];
  const values = inRange([...near, d, grid((d + highest) / 2), lowest, highest], lowest, highest);
  return values.map((v) => ({ name: label(`${v} frames ≈ ${round1(v / fps)} s at ${fps} fps${v === d ? ' (default)' : ''} · 1 + a multiple of ${tf}`), value: v }));
}

function fpsSuggestions(model: ModelInfo__Output, typed: string): Suggestion[] {
  const l = model.limits;
  if (!l || l.maxFps === 0) return [];
  const d = model.defaults?.fps || DEFAULT_FPS;
  const values = inRange([typedNumber(typed) ?? NaN, d, 8, 12, 16, 24, 30, l.minFps, l.maxFps], l.minFps, l.maxFps);
  return values.map((v) => ({ name: label(`${v} fps${v === d ? ' (default)' : ''} · ${model.name} takes ${l.minFps}–${l.maxFps}`), value: v }));
}

function aspectSuggestions(model: ModelInfo__Output, typed: string): Suggestion[] {
  const l = model.limits;
  if (!l || l.aspects.length === 0) return [];
  const want = typed.trim().replace(/\s*[x/]\s*/i, ':');
  const matching = l.aspects.filter((a) => a.startsWith(want));
  // Nothing matches what was typed: show them all, so the person sees what the model takes.
  return (matching.length > 0 ? matching : l.aspects).map((a) => {
    const size = model.defaults ? sizeForAspect(a, l, model.defaults) : undefined;
    return { name: label(size ? `${a} (${size.width}×${size.height})` : a), value: a };
  });
}

/**
 * The model's styles whose name or description holds what was typed (all of them when none does, so the person sees
 * what there is), each labelled with its description: only names the model lists, so a pick is never refused.
 */
function styleSuggestions(model: ModelInfo__Output, typed: string): Suggestion[] {
  const styles = model.styles ?? [];
  const want = typed.trim().toLowerCase();
  const matching = styles.filter((s) => s.name.toLowerCase().includes(want) || s.description.toLowerCase().includes(want));
  return (matching.length > 0 ? matching : styles).map((s) => ({ name: label(s.description ? `${s.name} · ${s.description}` : s.name), value: s.name }));
}

function modelSuggestions(list: ListModelsResponse__Output, typed: string): Suggestion[] {
  const want = typed.trim().toLowerCase();
  const matching = list.models.filter((m) => m.name.toLowerCase().includes(want));
  return (matching.length > 0 ? matching : list.models).map((m) => ({
    name: label(`${m.name}${m.name === list.defaultModel ? ' (default)' : ''}${m.description ? ` · ${m.description}` : ''}`),
    value: m.name,
  }));
}

/**
 * Suggestions for `option`, given what the person has typed in it and the model the command will run on (the one
 * named in its `model` option, else the default). Empty when the model or its limit is not known.
 */
export function suggestionsFor(option: AutocompletedOption, typed: string, model: ModelInfo__Output | undefined, list: ListModelsResponse__Output | undefined): Suggestion[] {
  if (option === 'model') return list ? modelSuggestions(list, typed).slice(0, MAX_SUGGESTIONS) : [];
  if (!model) return [];
  const by: Record<Exclude<AutocompletedOption, 'model'>, (m: ModelInfo__Output, t: string) => Suggestion[]> = {
    aspect: aspectSuggestions,
    steps: stepSuggestions,
    frames: frameSuggestions,
    fps: fpsSuggestions,
    style: styleSuggestions,
  };
  return by[option](model, typed).slice(0, MAX_SUGGESTIONS);
}
