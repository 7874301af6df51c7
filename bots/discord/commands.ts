// The /animate command as Discord registers it, and reading its options back into the core's record shape.
// Registration happens once, without the daemon (npm run discord:register), so it cannot know the model: the ranges
// registered are the bots' outer bounds (OPTION_BOUNDS), and aspect, steps, frames, fps, model and style are autocompleted
// from the daemon's ListModels (autocomplete.ts), so Discord's client suggests what the model takes, as the model's
// list changes, without registering again. Values outside the model's limits are refused privately (ephemeral).
import { SlashCommandBuilder, type ChatInputCommandInteraction, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { MAX_SEED, MAX_VARIANTS, OPTION_BOUNDS, OPTION_HELP } from '../core/options.ts';
import { MAX_STYLE_STRENGTH, MIN_STYLE_STRENGTH } from '../../shared/wire/styles.ts';

export const DEFAULT_COMMAND_NAME = 'animate';
/** The attachment option: not one of the core's text options (it is fetched, then added as AnimateOptions.image). */
export const IMAGE_OPTION = 'image';
/** The options Discord asks the bot to suggest values for as the person types (autocomplete.ts answers). */
export const AUTOCOMPLETED_OPTIONS = ['aspect', 'steps', 'frames', 'fps', 'model', 'style'] as const;
/** Discord's name of the style strength option (its names are snake_case; the core maps it to styleStrength). */
export const STYLE_STRENGTH_OPTION = 'style_strength';
export type AutocompletedOption = (typeof AUTOCOMPLETED_OPTIONS)[number];

const meaning = (name: string) => OPTION_HELP.find((o) => o.name === name)?.meaning ?? name;
/** Discord caps option descriptions at 100 characters. */
const describe = (name: string) => meaning(name).slice(0, 100);

export function animateCommand(name = DEFAULT_COMMAND_NAME): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return new SlashCommandBuilder()
    .setName(name)
    .setDescription('Animate a prompt into a short clip, with live previews (type "help" as the prompt for help)')
    .addStringOption((o) => o.setName('prompt').setDescription(describe('prompt')).setRequired(true).setMaxLength(2000))
    .addStringOption((o) => o.setName('negative').setDescription(describe('negative')).setMaxLength(2000))
    .addIntegerOption((o) => o.setName('seed').setDescription(describe('seed')).setMinValue(0).setMaxValue(MAX_SEED))
    .addIntegerOption((o) => o.setName('steps').setDescription(describe('steps')).setMinValue(OPTION_BOUNDS.steps.min).setMaxValue(OPTION_BOUNDS.steps.max).setAutocomplete(true))
    .addNumberOption((o) => o.setName('guidance').setDescription(describe('guidance')).setMinValue(OPTION_BOUNDS.guidance.min).setMaxValue(OPTION_BOUNDS.guidance.max))
    .addNumberOption((o) => o.setName('duration').setDescription(describe('duration')).setMinValue(OPTION_BOUNDS.duration.min).setMaxValue(OPTION_BOUNDS.duration.max))
    .addIntegerOption((o) => o.setName('frames').setDescription(describe('frames')).setMinValue(OPTION_BOUNDS.frames.min).setMaxValue(OPTION_BOUNDS.frames.max).setAutocomplete(true))
    .addStringOption((o) => o.setName('aspect').setDescription(describe('aspect')).setMaxLength(5).setAutocomplete(true))
    .addIntegerOption((o) => o.setName('fps').setDescription(describe('fps')).setMinValue(OPTION_BOUNDS.fps.min).setMaxValue(OPTION_BOUNDS.fps.max).setAutocomplete(true))
    .addIntegerOption((o) => o.setName('variants').setDescription(describe('variants')).setMinValue(1).setMaxValue(MAX_VARIANTS))
    .addStringOption((o) => o.setName('model').setDescription(describe('model')).setMaxLength(128).setAutocomplete(true))
    .addStringOption((o) => o.setName('style').setDescription(describe('style')).setMaxLength(128).setAutocomplete(true))
    .addNumberOption((o) => o.setName(STYLE_STRENGTH_OPTION).setDescription(describe('styleStrength')).setMinValue(MIN_STYLE_STRENGTH).setMaxValue(MAX_STYLE_STRENGTH))
    .addAttachmentOption((o) => o.setName(IMAGE_OPTION).setDescription('an image to animate from (PNG, JPEG, WebP or GIF): the clip starts from it'))
    .toJSON();
}

/** Every option the person gave, by name, as the core's parseStructuredOptions expects. */
export function readAnimateOptions(interaction: ChatInputCommandInteraction): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const option of interaction.options.data) {
    if (option.value !== undefined && option.name !== IMAGE_OPTION) record[option.name] = option.value;
  }
  return record;
}
