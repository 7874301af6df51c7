// The daemon's output safety check: the classifiers that apply to a model (the daemon-wide one from
// ANIMATE_SAFETY_MODEL_DIR, which applies to every model, and the package's own safety/), loaded once each into the
// inference worker, run on a clip's (or a preview's) frames before anything of it is sent. A clip any of them flags
// is withheld: the job ends with OutputWithheldError, whose message names the label and nothing else.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelInvalidError, OutputWithheldError } from '../errors.ts';
import type { ModelPackage } from '../model/package.ts';
import type { RgbFrames } from '../pipeline/frames.ts';
import { SafetyClassifier, readSafetyModel, type SafetyModel, type SafetyWorker } from './classifier.ts';
import { SafetyError } from './errors.ts';
import { judge, type SafetyScores } from './verdict.ts';

/** The environment variable (and flag) naming the daemon-wide classifier's folder. */
export const SAFETY_MODEL_DIR_VARIABLE = 'ANIMATE_SAFETY_MODEL_DIR';

/** One classifier's look at one clip, for the log (scores stay in the daemon). */
export interface SafetyLook {
  source: SafetyModel['source'];
  scores: SafetyScores;
  flagged: Array<{ label: string; score: number; threshold: number }>;
  ms: number;
}

export interface SafetyCheck {
  withheld: boolean;
  /** Flagged labels over every classifier, for the error's message. */
  labels: string[];
  looks: SafetyLook[];
  /** Time the check took (all classifiers), ms: what it adds to a clip. */
  ms: number;
}

/** A model's package as the check needs it: its own classifier, when it has a safety/ folder. */
export type SafetyPackage = Pick<ModelPackage, 'name'> & { safety?: SafetyModel | undefined };

export class OutputSafety {
  private readonly loaded = new Map<string, Promise<SafetyClassifier>>();

  private constructor(
    private readonly worker: SafetyWorker,
    /** The daemon-wide classifier (loaded at open), or none. */
    private readonly daemonWide: SafetyClassifier | undefined,
  ) {}

  /**
   * Reads, loads and checks the daemon-wide classifier in `daemonDir` (when given), so a broken one stops start-up.
   * Its SafetyError names the file; the caller adds the setting (ANIMATE_SAFETY_MODEL_DIR).
   */
  static async open(worker: SafetyWorker, daemonDir?: string): Promise<OutputSafety> {
    const daemonWide = daemonDir ? await SafetyClassifier.load(await readSafetyModel(daemonDir, 'daemon', ''), worker) : undefined;
    return new OutputSafety(worker, daemonWide);
  }

  /** The daemon-wide classifier's labels (empty without one), for the start-up line. */
  get daemonLabels(): string[] {
    return this.daemonWide ? [...this.daemonWide.config.labels] : [];
  }

  /** Whether any classifier applies to this package (the daemon's, or its own). */
  appliesTo(pkg: SafetyPackage): boolean {
    return this.daemonWide !== undefined || pkg.safety !== undefined;
  }

  /** The package's own classifier loaded into the worker (once per classifier hash; a failed load is tried again next time). */
  async prepare(pkg: SafetyPackage): Promise<SafetyClassifier[]> {
    const list: SafetyClassifier[] = this.daemonWide ? [this.daemonWide] : [];
    const own = pkg.safety;
    if (!own) return list;
    let classifier = this.loaded.get(own.hash);
    if (!classifier) {
      // A package's classifier onnxruntime cannot run makes the model unusable, as a broken component would.
      classifier = SafetyClassifier.load(own, this.worker).catch((err: unknown) => {
        throw err instanceof SafetyError ? new ModelInvalidError(path.dirname(own.dir), err.message, { name: pkg.name, cause: err }) : err;
      });
      this.loaded.set(own.hash, classifier);
      classifier.catch(() => this.loaded.delete(own.hash));
    }
    return [...list, await classifier];
  }

  /** Scores `video` with every classifier that applies; never throws for a flagged clip (see `enforce`). */
  async check(video: RgbFrames, pkg: SafetyPackage): Promise<SafetyCheck> {
    const started = performance.now();
    const looks: SafetyLook[] = [];
    for (const classifier of await this.prepare(pkg)) {
      const { scores, ms } = await classifier.score(video);
      looks.push({ source: classifier.model.source, scores, flagged: judge(scores, classifier.config).flagged, ms });
    }
    const labels = [...new Set(looks.flatMap((l) => l.flagged.map((f) => f.label)))];
    return { withheld: labels.length > 0, labels, looks, ms: performance.now() - started };
  }

  /** Checks `video` and throws OutputWithheldError when it is flagged; returns the check otherwise. */
  async enforce(video: RgbFrames, pkg: SafetyPackage, onWithheld?: (check: SafetyCheck) => void): Promise<SafetyCheck> {
    const check = await this.check(video, pkg);
    if (check.withheld) {
      onWithheld?.(check);
      throw new OutputWithheldError(...check.labels);
    }
    return check;
  }
}

/**
 * The daemon's check, with its daemon-wide classifier from `dir` (ANIMATE_SAFETY_MODEL_DIR) when set: a folder that
 * is missing or broken is a start-up error naming the setting, the folder and the file at fault.
 */
export async function openDaemonSafety(worker: SafetyWorker, dir: string | undefined): Promise<OutputSafety> {
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) {
    throw new InvalidArgumentError(SAFETY_MODEL_DIR_VARIABLE, `${dir} is not a folder (it should hold the classifier's model.onnx and config.json)`);
  }
  try {
    return await OutputSafety.open(worker, dir);
  } catch (err) {
    if (err instanceof SafetyError) throw new InvalidArgumentError(SAFETY_MODEL_DIR_VARIABLE, `${dir}: ${err.message}`);
    throw err;
  }
}
