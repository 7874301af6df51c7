// Answers Discord's autocomplete for /animate: the option being typed (aspect, steps, frames, fps, model, style) gets the
// suggestions of model-suggestions.ts for the model the command names (or the default), from the cached ListModels.
import type { AutocompleteInteraction } from 'discord.js';
import type { ListModelsResponse__Output, ModelInfo__Output } from '../../shared/rpc/types.ts';
import { findModel } from '../core/model-catalog.ts';
import { AUTOCOMPLETED_OPTIONS, type AutocompletedOption } from './commands.ts';
import { AUTOCOMPLETE_MODELS_BUDGET_MS, modelsWithin } from './model-lookup.ts';
import { suggestionsFor } from './model-suggestions.ts';
import type { DiscordPluginContext } from './plugin-context.ts';

const isAutocompleted = (name: string): name is AutocompletedOption => (AUTOCOMPLETED_OPTIONS as readonly string[]).includes(name);

/** The model named in the command so far, else the default; undefined for a name not in the list (no suggestions). */
function modelOf(list: ListModelsResponse__Output, named: string | null): ModelInfo__Output | undefined {
  try {
    return findModel(list, named?.trim() || undefined);
  } catch {
    return undefined;
  }
}

export async function onAutocomplete(ctx: DiscordPluginContext, interaction: AutocompleteInteraction): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (!isAutocompleted(focused.name)) {
    await interaction.respond([]);
    return;
  }
  const list = await modelsWithin(ctx, AUTOCOMPLETE_MODELS_BUDGET_MS);
  const named = focused.name === 'model' ? null : interaction.options.getString('model');
  const model = list ? modelOf(list, named) : undefined;
  await interaction.respond(suggestionsFor(focused.name, String(focused.value), model, list));
}
