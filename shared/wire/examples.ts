// The one example prompt every newcomer screen suggests (the CLI's usage and errors, `npm start`'s and the standalone
// bots' "Open … and type:", the playground's placeholder and hints). It lives here, in the wire's words, because both
// wings show it and bots/ cannot import inference/. It is a prompt the embedded model draws well (#24: bounces are
// its weakest clip, so no screen suggests one). The static playground page cannot import TypeScript: it keeps the
// text as a literal, and test/playground/example-prompt.test.ts holds it equal to this constant.
export const EXAMPLE_PROMPT = 'a pink heart grows in the sky';

/** The slash command a chat newcomer is told to type. */
export const EXAMPLE_COMMAND = `/animate ${EXAMPLE_PROMPT}`;
