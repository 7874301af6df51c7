// DPMSolverMultistepScheduler, algorithm_type "dpmsolver++" (data prediction), flow sigmas: DPM-Solver++ 2M by
// default. Formulas of diffusers' dpm_solver_first_order_update / multistep_dpm_solver_{second,third}_order_update.
import { BaseScheduler, flowLambda } from './scheduler.ts';
import type { DpmPlan } from './config.ts';
import { flowSigmasSchedule } from './sigmas.ts';

export class DpmSolverScheduler extends BaseScheduler {
  readonly name = 'dpm++' as const;
  /** Data predictions x0, oldest first, at most solverOrder of them. */
  private readonly history: Float64Array[] = [];
  private lowerOrderNums = 0;

  constructor(
    private readonly plan: DpmPlan,
    steps: number,
  ) {
    super(steps, flowSigmasSchedule(steps, plan.numTrainTimesteps, plan.shift));
  }

  protected advance(i: number, _velocity: Float32Array, x: Float32Array, x0: Float64Array): Float64Array {
    this.history.push(x0);
    if (this.history.length > this.plan.solverOrder) this.history.shift();
    const order = this.orderAt(i);
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, this.plan.solverOrder);
    return this.update(i, order, x);
  }

  /** The final step goes to σ = 0 (final_sigmas_type "zero"), which diffusers always takes with first order. */
  private orderAt(i: number): number {
    const { solverOrder, lowerOrderFinal } = this.plan;
    const last = i === this.steps - 1;
    const secondToLast = i === this.steps - 2 && lowerOrderFinal && this.steps < 15;
    if (solverOrder === 1 || this.lowerOrderNums < 1 || last) return 1;
    if (solverOrder === 2 || this.lowerOrderNums < 2 || secondToLast) return 2;
    return 3;
  }

  private update(i: number, order: number, x: Float32Array): Float64Array {
    const s = this.sigmas;
    const sigmaT = s[i + 1]!;
    const sigmaS0 = s[i]!;
    const alphaT = 1 - sigmaT;
    const lambdaS0 = flowLambda(sigmaS0);
    const h = flowLambda(sigmaT) - lambdaS0;
    const em1 = Math.exp(-h) - 1; // diffusers writes exp(−h) − 1, not expm1; kept for identical rounding
    const a = sigmaT / sigmaS0;
    // x_t = a·x + c0·D0 + c1·D1 + c2·D2
    const c0 = -alphaT * em1;
    let c1 = 0;
    let c2 = 0;
    if (order >= 2) c1 = this.plan.solverType === 'heun' ? alphaT * (em1 / h + 1) : -0.5 * alphaT * em1;
    if (order === 3) {
      c1 = alphaT * (em1 / h + 1);
      c2 = -alphaT * ((em1 + h) / (h * h) - 0.5);
    }
    const r0 = order >= 2 ? (lambdaS0 - flowLambda(s[i - 1]!)) / h : 1;
    const r1 = order === 3 ? (flowLambda(s[i - 1]!) - flowLambda(s[i - 2]!)) / h : 1;
    const hist = this.history;
    const m0 = hist[hist.length - 1]!;
    const m1 = order >= 2 ? hist[hist.length - 2]! : m0;
    const m2 = order === 3 ? hist[hist.length - 3]! : m1;
    const out = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      let v = a * x[j]! + c0 * m0[j]!;
      if (order === 2) v += c1 * ((m0[j]! - m1[j]!) / r0);
      else if (order === 3) {
        const d10 = (m0[j]! - m1[j]!) / r0;
        const d11 = (m1[j]! - m2[j]!) / r1;
        v += c1 * (d10 + (r0 / (r0 + r1)) * (d10 - d11)) + c2 * ((d10 - d11) / (r0 + r1));
      }
      out[j] = v;
    }
    return out;
  }
}
