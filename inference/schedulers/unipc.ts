// UniPCMultistepScheduler (predict_x0, flow sigmas, lower_order_final): a multistep predictor (UniP) plus a
// corrector (UniC) that refines the previous step's result with the model output of this step, at no extra
// model evaluation. Coefficients follow diffusers' multistep_uni_p_bh_update / multistep_uni_c_bh_update.
import { BaseScheduler, flowLambda } from './scheduler.ts';
import type { UniPcPlan } from './config.ts';
import { flowSigmasSchedule } from './sigmas.ts';
import { solveLinear } from './linear-solve.ts';

/** x_t = a·x + c0·m0 + Σ_k d_k·(m_k − m0) [+ dT·(m_t − m0)]: the whole update as scalar coefficients. */
interface UniCoefficients {
  readonly a: number;
  readonly c0: number;
  /** One per earlier data prediction m_k, k = 1 … order − 1 (m_1 is the most recent before m0). */
  readonly d: number[];
  /** Coefficient of the newest model output (corrector only). */
  readonly dT: number;
}

export class UniPcScheduler extends BaseScheduler {
  readonly name = 'unipc' as const;
  /** Data predictions x0 of earlier steps, oldest first, at most solverOrder of them. */
  private readonly history: Float64Array[] = [];
  private lastSample: Float64Array | null = null;
  private lastOrder = 0;
  private lowerOrderNums = 0;

  constructor(
    private readonly plan: UniPcPlan,
    steps: number,
  ) {
    super(steps, flowSigmasSchedule(steps, plan.numTrainTimesteps, plan.shift));
  }

  protected advance(i: number, _velocity: Float32Array, x: Float32Array, x0: Float64Array): Float64Array {
    let sample: Float64Array = new Float64Array(x);
    if (i > 0 && this.lastSample && !this.plan.disableCorrector.includes(i - 1)) {
      sample = this.correct(i, x0, this.lastSample);
    }
    this.history.push(x0);
    if (this.history.length > this.plan.solverOrder) this.history.shift();
    // lower_order_final: the last step (to σ = 0) is first order; warm-up: order grows with available history.
    const order = Math.min(this.plan.solverOrder, this.steps - i, this.lowerOrderNums + 1);
    this.lastSample = sample;
    this.lastOrder = order;
    const next = this.combine(this.coefficients(i, i + 1, order, false), sample, null);
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, this.plan.solverOrder);
    return next;
  }

  /** UniC: recompute the step σ_{i−1} → σ_i from the previous sample, now knowing the model output at σ_i. */
  private correct(i: number, modelT: Float64Array, lastSample: Float64Array): Float64Array {
    return this.combine(this.coefficients(i - 1, i, this.lastOrder, true), lastSample, modelT);
  }

  /** `from` indexes σ_s0 (whose data prediction is the newest in history), `to` indexes σ_t. */
  private coefficients(from: number, to: number, order: number, corrector: boolean): UniCoefficients {
    const sigmaT = this.sigmas[to]!;
    const sigmaS0 = this.sigmas[from]!;
    const alphaT = 1 - sigmaT;
    const lambdaS0 = flowLambda(sigmaS0);
    const h = flowLambda(sigmaT) - lambdaS0;
    const hh = -h; // predict_x0
    const hPhi1 = Math.expm1(hh);
    const bH = this.plan.solverType === 'bh1' ? hh : Math.expm1(hh);
    const a = sigmaT / sigmaS0;
    const c0 = -alphaT * hPhi1;
    const rks: number[] = [];
    for (let k = 1; k < order; k++) rks.push((flowLambda(this.sigmas[from - k]!) - lambdaS0) / h);
    rks.push(1);
    const b: number[] = [];
    let hPhiK = hPhi1 / hh - 1;
    let factorial = 1;
    for (let k = 1; k <= order; k++) {
      b.push((hPhiK * factorial) / bH);
      factorial *= k + 1;
      hPhiK = hPhiK / hh - 1 / factorial;
    }
    const rows = (n: number): number[][] => Array.from({ length: n }, (_, p) => rks.slice(0, n).map((r) => r ** p));
    let rhos: number[];
    if (corrector) rhos = order === 1 ? [0.5] : solveLinear(rows(order), b);
    else rhos = order === 1 ? [] : order === 2 ? [0.5] : solveLinear(rows(order - 1), b.slice(0, order - 1));
    // The D terms are (m_k − m0)/r_k scaled by −α_t·B(h)·ρ_k. They are skipped, not multiplied by 0, when absent:
    // at σ_t = 0, B(h) is infinite for bh1 and diffusers would produce NaN there.
    const g = -alphaT * bH;
    const d = rks.slice(0, order - 1).map((rk, k) => (g * rhos[k]!) / rk);
    const dT = corrector ? g * rhos[order - 1]! : 0;
    return { a, c0, d, dT };
  }

  private combine(coef: UniCoefficients, x: Float64Array, modelT: Float64Array | null): Float64Array {
    const hist = this.history;
    const m0 = hist[hist.length - 1]!;
    const out = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const base = m0[j]!;
      let v = coef.a * x[j]! + coef.c0 * base;
      for (let k = 0; k < coef.d.length; k++) v += coef.d[k]! * (hist[hist.length - 2 - k]![j]! - base);
      if (modelT) v += coef.dT * (modelT[j]! - base);
      out[j] = v;
    }
    return out;
  }
}
