// Prompt tokenisation with @huggingface/tokenizers, plus the words of a prompt the model does not know.
import { Tokenizer } from '@huggingface/tokenizers';

export interface TokenizedPrompt {
  /** Token ids padded (or truncated) to the model's text length. */
  ids: BigInt64Array;
  attentionMask: BigInt64Array;
  /** Words of the prompt that map to the unknown token. */
  unknownWords: string[];
  truncated: boolean;
}

export class PromptTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly unkId: number | undefined;
  readonly vocabulary: string[];

  /**
   * `tokenizerConfig` is tokenizer_config.json when the package has one. @huggingface/tokenizers maps unknown words
   * to the unknown token only when the config names it, so it is filled in from tokenizer.json's model when absent.
   */
  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> | undefined, private readonly maxLength: number, private readonly padId: number) {
    const model = (tokenizerJson.model ?? {}) as { vocab?: unknown; unk_token?: string };
    const config = { ...(model.unk_token !== undefined ? { unk_token: model.unk_token } : {}), ...(tokenizerConfig ?? {}) };
    this.tokenizer = new Tokenizer(tokenizerJson, config);
    const vocab = model.vocab;
    // WordLevel/WordPiece store a map; Unigram stores [piece, score] pairs.
    const words = Array.isArray(vocab) ? vocab.map((v) => String((v as unknown[])[0])) : Object.keys((vocab ?? {}) as object);
    this.vocabulary = words.filter((w) => /^[a-z][a-z'-]*$/i.test(w)).sort();
    const unkToken = (config as { unk_token?: unknown }).unk_token;
    this.unkId = typeof unkToken === 'string' ? this.tokenizer.encode(unkToken, { add_special_tokens: false }).ids[0] : undefined;
  }

  encode(text: string): TokenizedPrompt {
    const encoding = this.tokenizer.encode(text, { add_special_tokens: true });
    const ids = new BigInt64Array(this.maxLength).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(this.maxLength);
    const n = Math.min(encoding.ids.length, this.maxLength);
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(encoding.ids[i] ?? this.unkId ?? this.padId);
      attentionMask[i] = 1n;
    }
    return { ids, attentionMask, unknownWords: this.unknownWords(text), truncated: encoding.ids.length > this.maxLength };
  }

  /** Each word is encoded alone, so the answer names the person's words rather than sub-word pieces. */
  unknownWords(text: string): string[] {
    const words = text.toLowerCase().match(/[\p{L}\p{N}'-]+/gu) ?? [];
    const unknown: string[] = [];
    for (const word of new Set(words)) {
      const ids = this.tokenizer.encode(word, { add_special_tokens: false }).ids;
      // An id of undefined is how the library reports a word it cannot map at all.
      if (ids.some((id) => id === undefined || id === this.unkId)) unknown.push(word);
    }
    return unknown;
  }
}
