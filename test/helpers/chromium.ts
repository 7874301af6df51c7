// The headless Chromium the browser tests drive (Debian's package, through playwright-core) and the flags they all
// launch it with: one place, so that the chat and origin tests run the same browser the same way.

/** Debian's chromium (apt-get install chromium); the browser tests skip, with a note, where it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, no sandbox (containers), and nothing that reaches the network on its own (updates, sync, QUIC). */
export const CHROMIUM_ARGS: readonly string[] = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
