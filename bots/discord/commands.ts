// The /animate command as Discord registers it, and reading its options back into the core's record shape.
import { SlashCommandBuilder, type ChatInputCommandInteraction, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { ASPECTS, MAX_SEED, MAX_VARIANTS, OPTION_HELP } from '../core/options.ts';

export const DEFAULT_COMMAND_NAME = 'animate';
/** The attachment option: not one of the core's text options (it is fetched, then added as AnimateOptions.image). */
export const IMAGE_OPTION = 'image';

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
    .addIntegerOption((o) => o.setName('steps').setDescription(describe('steps')).setMinValue(1).setMaxValue(1000))
    .addNumberOption((o) => o.setName('guidance').setDescription(describe('guidance')).setMinValue(0).setMaxValue(100))
    .addNumberOption((o) => o.setName('duration').setDescription(describe('duration')).setMinValue(0.05).setMaxValue(120))
    .addIntegerOption((o) => o.setName('frames').setDescription(describe('frames')).setMinValue(1).setMaxValue(10_000))
    .addStringOption((o) => o.setName('aspect').setDescription(describe('aspect')).addChoices(...ASPECTS.map((a) => ({ name: a, value: a }))))
    .addIntegerOption((o) => o.setName('fps').setDescription(describe('fps')).setMinValue(1).setMaxValue(240))
    .addIntegerOption((o) => o.setName('variants').setDescription(describe('variants')).setMinValue(1).setMaxValue(MAX_VARIANTS))
    .addStringOption((o) => o.setName('model').setDescription(describe('model')).setMaxLength(128))
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
