#!/usr/bin/python3
"""Reference values for inference/schedulers, computed with numpy independently of the TypeScript code.

Re-implements the diffusers formulas (FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler and
DPMSolverMultistepScheduler with use_flow_sigmas / flow_prediction) in the structure diffusers uses (model output
lists, step index, lower_order_nums, np.linalg.solve for the UniPC coefficients), keeping diffusers' float32
rounding of the schedules. diffusers itself is not installable here, so this is our independent check.

Writes test/schedulers/reference/schedulers.json. Run: /usr/bin/python3 test/schedulers/reference/scheduler_reference.py
"""
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
F32 = np.float32


def shifted(s, shift):
    return shift * s / (1 + (shift - 1) * s)


# ---------------------------------------------------------------- schedules


def euler_schedule(steps, n, shift):
    # __init__: float32 training schedule 1..N, sigmas = t / N, shifted in float32 arithmetic.
    train = np.linspace(1, n, n, dtype=np.float32)[::-1].copy()
    train_sigmas = train / F32(n)
    train_sigmas = (F32(shift) * train_sigmas / (F32(1) + F32(shift - 1) * train_sigmas)).astype(np.float32)
    sigma_max, sigma_min = float(train_sigmas[0]), float(train_sigmas[-1])
    # set_timesteps: linspace in float64 between the (already shifted) ends, then shifted again.
    timesteps = np.linspace(sigma_max * n, sigma_min * n, steps)
    sigmas = shifted(timesteps / n, shift).astype(np.float32)
    timesteps = (sigmas * F32(n)).astype(np.float32)
    sigmas = np.concatenate([sigmas, np.zeros(1, dtype=np.float32)])
    return sigmas, timesteps


def flow_schedule(steps, n, flow_shift):
    alphas = np.linspace(1, 1 / n, steps + 1)
    sigmas = 1.0 - alphas
    sigmas = np.flip(shifted(sigmas, flow_shift))[:-1].copy()
    timesteps = (sigmas * n).astype(np.int64)  # torch .to(int64) truncates
    sigmas = np.concatenate([sigmas, [0.0]]).astype(np.float32)
    return sigmas, timesteps


def alpha_sigma(sigma):
    return 1.0 - sigma, sigma


def lam(sigma):
    a, s = alpha_sigma(sigma)
    with np.errstate(divide="ignore"):
        return np.log(a) - np.log(s)


# ---------------------------------------------------------------- solvers (float64 maths, float32 in/out)


class Euler:
    def __init__(self, steps, n, shift):
        self.sigmas, self.timesteps = euler_schedule(steps, n, shift)
        self.sigmas = self.sigmas.astype(np.float64)
        self.step_index = 0

    def step(self, v, x):
        s, s_next = self.sigmas[self.step_index], self.sigmas[self.step_index + 1]
        self.step_index += 1
        return x + (s_next - s) * v


class UniPC:
    def __init__(self, steps, n, flow_shift, solver_order=2, solver_type="bh2", disable_corrector=()):
        sig, self.timesteps = flow_schedule(steps, n, flow_shift)
        self.sigmas = sig.astype(np.float64)
        self.order = solver_order
        self.solver_type = solver_type
        self.disable_corrector = list(disable_corrector)
        self.model_outputs = [None] * solver_order
        self.lower_order_nums = 0
        self.last_sample = None
        self.this_order = None
        self.step_index = 0

    def _coeffs(self, hh, order):
        h_phi_1 = np.expm1(hh)
        h_phi_k = h_phi_1 / hh - 1
        fact = 1
        B_h = hh if self.solver_type == "bh1" else np.expm1(hh)
        b = []
        for i in range(1, order + 1):
            b.append(h_phi_k * fact / B_h)
            fact *= i + 1
            h_phi_k = h_phi_k / hh - 1 / fact
        return h_phi_1, B_h, np.array(b)

    def _predict(self, x, order):
        idx = self.step_index
        m0 = self.model_outputs[-1]
        sig_t, sig_s0 = self.sigmas[idx + 1], self.sigmas[idx]
        alpha_t = 1.0 - sig_t
        lam_s0 = lam(sig_s0)
        h = lam(sig_t) - lam_s0
        rks, D1s = [], []
        for i in range(1, order):
            rk = (lam(self.sigmas[idx - i]) - lam_s0) / h
            rks.append(rk)
            D1s.append((self.model_outputs[-(i + 1)] - m0) / rk)
        rks.append(1.0)
        rks = np.array(rks)
        h_phi_1, B_h, b = self._coeffs(-h, order)
        R = np.stack([rks ** (i - 1) for i in range(1, order + 1)])
        x_t_ = sig_t / sig_s0 * x - alpha_t * h_phi_1 * m0
        if not D1s:
            return x_t_  # no history term (and no inf * 0 at sigma_t = 0)
        rhos = np.array([0.5]) if order == 2 else np.linalg.solve(R[:-1, :-1], b[:-1])
        return x_t_ - alpha_t * B_h * np.einsum("k,kc->c", rhos, np.stack(D1s))

    def _correct(self, model_t, last_sample, order):
        idx = self.step_index
        m0 = self.model_outputs[-1]
        sig_t, sig_s0 = self.sigmas[idx], self.sigmas[idx - 1]
        alpha_t = 1.0 - sig_t
        lam_s0 = lam(sig_s0)
        h = lam(sig_t) - lam_s0
        rks, D1s = [], []
        for i in range(1, order):
            rk = (lam(self.sigmas[idx - (i + 1)]) - lam_s0) / h
            rks.append(rk)
            D1s.append((self.model_outputs[-(i + 1)] - m0) / rk)
        rks.append(1.0)
        rks = np.array(rks)
        h_phi_1, B_h, b = self._coeffs(-h, order)
        R = np.stack([rks ** (i - 1) for i in range(1, order + 1)])
        rhos_c = np.array([0.5]) if order == 1 else np.linalg.solve(R, b)
        x_t_ = sig_t / sig_s0 * last_sample - alpha_t * h_phi_1 * m0
        corr = np.einsum("k,kc->c", rhos_c[:-1], np.stack(D1s)) if D1s else 0.0
        return x_t_ - alpha_t * B_h * (corr + rhos_c[-1] * (model_t - m0))

    def step(self, v, x):
        idx = self.step_index
        x0 = x - self.sigmas[idx] * v
        sample = x
        if idx > 0 and (idx - 1) not in self.disable_corrector and self.last_sample is not None:
            sample = self._correct(x0, self.last_sample, self.this_order)
        self.model_outputs = self.model_outputs[1:] + [x0]
        this_order = min(self.order, len(self.timesteps) - idx)  # lower_order_final
        self.this_order = min(this_order, self.lower_order_nums + 1)
        self.last_sample = sample
        out = self._predict(sample, self.this_order)
        if self.lower_order_nums < self.order:
            self.lower_order_nums += 1
        self.step_index += 1
        return out


class DPMpp:
    def __init__(self, steps, n, flow_shift, solver_order=2, solver_type="midpoint", lower_order_final=True):
        sig, self.timesteps = flow_schedule(steps, n, flow_shift)
        self.sigmas = sig.astype(np.float64)
        self.order = solver_order
        self.solver_type = solver_type
        self.lower_order_final = lower_order_final
        self.model_outputs = [None] * solver_order
        self.lower_order_nums = 0
        self.step_index = 0

    def step(self, v, x):
        idx, n_steps = self.step_index, len(self.timesteps)
        final = idx == n_steps - 1  # final_sigmas_type "zero" forces first order here
        second = idx == n_steps - 2 and self.lower_order_final and n_steps < 15
        x0 = x - self.sigmas[idx] * v
        self.model_outputs = self.model_outputs[1:] + [x0]
        s_t, s0 = self.sigmas[idx + 1], self.sigmas[idx]
        alpha_t = 1.0 - s_t
        h = lam(s_t) - lam(s0)
        if self.order == 1 or self.lower_order_nums < 1 or final:
            out = (s_t / s0) * x - (alpha_t * (np.exp(-h) - 1.0)) * x0
        elif self.order == 2 or self.lower_order_nums < 2 or second:
            m0, m1 = self.model_outputs[-1], self.model_outputs[-2]
            r0 = (lam(s0) - lam(self.sigmas[idx - 1])) / h
            D0, D1 = m0, (1.0 / r0) * (m0 - m1)
            if self.solver_type == "midpoint":
                out = (s_t / s0) * x - (alpha_t * (np.exp(-h) - 1.0)) * D0 - 0.5 * (alpha_t * (np.exp(-h) - 1.0)) * D1
            else:
                out = (s_t / s0) * x - (alpha_t * (np.exp(-h) - 1.0)) * D0 + (alpha_t * ((np.exp(-h) - 1.0) / h + 1.0)) * D1
        else:
            m0, m1, m2 = self.model_outputs[-1], self.model_outputs[-2], self.model_outputs[-3]
            l0, l1, l2 = lam(s0), lam(self.sigmas[idx - 1]), lam(self.sigmas[idx - 2])
            r0, r1 = (l0 - l1) / h, (l1 - l2) / h
            D1_0, D1_1 = (1.0 / r0) * (m0 - m1), (1.0 / r1) * (m1 - m2)
            D1 = D1_0 + (r0 / (r0 + r1)) * (D1_0 - D1_1)
            D2 = (1.0 / (r0 + r1)) * (D1_0 - D1_1)
            e = np.exp(-h) - 1.0
            out = (s_t / s0) * x - (alpha_t * e) * m0 + (alpha_t * (e / h + 1.0)) * D1 - (alpha_t * ((e + h) / h**2 - 0.5)) * D2
        if self.lower_order_nums < self.order:
            self.lower_order_nums += 1
        self.step_index += 1
        return out


# ---------------------------------------------------------------- toy problem

# dx/dsigma = v(x, sigma) = M x + sigma * c + d: linear, fixed, so every solver's trajectory is fully determined.
TOY_M = np.array([[-0.3, 0.1, 0.0, 0.05], [0.2, -0.1, 0.1, 0.0], [0.0, 0.05, 0.2, -0.1], [0.1, 0.0, -0.05, 0.15]])
TOY_C = np.array([0.5, -0.25, 0.1, 0.3])
TOY_D = np.array([0.2, 0.4, -0.6, 0.1])
TOY_X = np.array([0.8, -0.4, 1.2, -1.5], dtype=np.float32)


def toy_velocity(x32, sigma):
    return (TOY_M @ x32.astype(np.float64) + sigma * TOY_C + TOY_D).astype(np.float32)


def make_solver(name, steps, n, shift, options):
    if name == "euler":
        return Euler(steps, n, shift)
    if name == "unipc":
        return UniPC(steps, n, shift, **options)
    return DPMpp(steps, n, shift, **options)


def run_toy(solver):
    x = TOY_X.copy()
    samples, x0s = [x.tolist()], []
    for i in range(len(solver.timesteps)):
        sigma = solver.sigmas[i]
        v = toy_velocity(x, sigma)
        x0s.append((x.astype(np.float64) - sigma * v.astype(np.float64)).astype(np.float32).tolist())
        x = solver.step(v.astype(np.float64), x.astype(np.float64)).astype(np.float32)
        samples.append(x.tolist())
    return samples, x0s


CONFIG_CLASS = {"euler": "FlowMatchEulerDiscreteScheduler", "unipc": "UniPCMultistepScheduler", "dpm++": "DPMSolverMultistepScheduler"}
OPTION_KEYS = {"solver_order": "solver_order", "solver_type": "solver_type", "disable_corrector": "disable_corrector", "lower_order_final": "lower_order_final"}


def diffusers_config(name, n, shift, options):
    if name == "euler":
        return {"_class_name": CONFIG_CLASS[name], "num_train_timesteps": n, "shift": shift, "use_dynamic_shifting": False}
    cfg = {"_class_name": CONFIG_CLASS[name], "num_train_timesteps": n, "flow_shift": shift, "use_flow_sigmas": True,
           "prediction_type": "flow_prediction", "final_sigmas_type": "zero"}
    for k, v in options.items():
        cfg[OPTION_KEYS[k]] = list(v) if isinstance(v, tuple) else v
    return cfg


def case(name, steps, shift, n=1000, options=None, config_as=None):
    """config_as: write the config for another class and ask for `name` through the override."""
    options = options or {}
    solver = make_solver(name, steps, n, shift, options)
    samples, x0s = run_toy(solver)
    cfg_name = config_as or name
    return {
        "config": diffusers_config(cfg_name, n, shift, {} if config_as else options),
        "override": name if config_as else None,
        "solver": name,
        "steps": steps,
        "sigmas": solver.sigmas.tolist(),
        "timesteps": [float(t) for t in solver.timesteps],
        "samples": samples,
        "x0": x0s,
    }


def hand_checks():
    """Values derived by hand (comments show the arithmetic); the script asserts its own schedules agree."""
    checks = {
        # s' = shift*s / (1 + (shift-1)*s): 3*0.5/(1+2*0.5) = 1.5/2; 5*0.5/(1+4*0.5) = 2.5/3
        "shift_formula": [{"shift": 3, "sigma": 0.5, "expected": 0.75}, {"shift": 5, "sigma": 0.5, "expected": 2.5 / 3}],
        # Euler, 1 step: sigmas [1, 0] so x_next = x + (0 - 1) v = x - v
        "euler_one_step": {"x": [1, 2, 3, 4], "v": [0.5, -1, 0.25, 2], "expected": [0.5, 3, 2.75, 2]},
        # Euler, shift 3, N 1000, 2 steps: sigma_min = 1/1000 is shifted in __init__ (3/1002) and again in
        # set_timesteps: 3*(3/1002) / (1 + 2*(3/1002)) = 9/1008. sigma_max stays 1.
        "euler_double_shift": {"shift": 3, "steps": 2, "sigmas": [1, 9 / 1008, 0], "timesteps": [1000, 9000 / 1008]},
        # Flow sigmas, shift 1, N 1000, 2 steps: alphas = linspace(1, 0.001, 3) = [1, 0.5005, 0.001],
        # sigmas = flip(1 - alphas)[:-1] = [0.999, 0.4995], timesteps = trunc(sigmas*1000) = [999, 499].
        "flow_sigmas_two_steps": {"shift": 1, "steps": 2, "sigmas": [0.999, 0.4995, 0], "timesteps": [999, 499]},
    }
    # Two-step DPM++ / UniPC with given velocities v0, v1: the first step is first order, and first-order
    # DPM-Solver++ with alpha = 1 - sigma reduces to Euler: x1 = x + (s1 - s0) v0 (expand exp(-h) = s1*a0/(a1*s0)).
    # The last step to sigma 0 returns the data prediction x1 - s1 v1 (UniPC's corrector result is not used then).
    s0, s1 = float(F32(0.999)), float(F32(0.4995))
    x, v0, v1 = np.array([1.0, 2, 3, 4]), np.array([0.5, -1, 0.25, 2]), np.array([0.1, 0.2, 0.3, 0.4])
    x1 = x + (s1 - s0) * v0
    checks["two_step_multistep"] = {"x": x.tolist(), "v0": v0.tolist(), "v1": v1.tolist(), "x1": x1.tolist(), "final": (x1 - s1 * v1).tolist()}
    # self-check the schedules against the hand values
    assert np.allclose(euler_schedule(2, 1000, 3)[0], checks["euler_double_shift"]["sigmas"], rtol=1e-6)
    assert np.allclose(flow_schedule(2, 1000, 1)[0], checks["flow_sigmas_two_steps"]["sigmas"], rtol=1e-6)
    assert list(flow_schedule(2, 1000, 1)[1]) == [999, 499]
    for name in ("unipc", "dpm++"):
        solver = make_solver(name, 2, 1000, 1, {})
        a = solver.step(v0, x)
        b = solver.step(v1, a)
        assert np.allclose(a, x1, rtol=1e-12) and np.allclose(b, x1 - s1 * v1, rtol=1e-12), name
    return checks


def main():
    cases = []
    for shift in (1, 3, 5):
        for steps in (1, 2, 5, 10, 20, 50):
            for name in ("euler", "unipc", "dpm++"):
                cases.append(case(name, steps, shift))
    extra = [
        ("unipc", 10, 3, {"solver_type": "bh1"}),
        ("unipc", 5, 5, {"solver_type": "bh1"}),
        ("unipc", 10, 3, {"solver_order": 3}),
        ("unipc", 20, 5, {"solver_order": 3}),
        ("unipc", 10, 3, {"solver_order": 1}),
        ("unipc", 10, 3, {"disable_corrector": (0, 1)}),
        ("dpm++", 10, 3, {"solver_order": 3}),
        ("dpm++", 20, 5, {"solver_order": 3}),
        ("dpm++", 10, 3, {"solver_type": "heun"}),
        ("dpm++", 10, 3, {"solver_order": 3, "lower_order_final": False}),
    ]
    for name, steps, shift, options in extra:
        cases.append(case(name, steps, shift, options=options))
    cases.append(case("euler", 10, 3, n=500))
    cases.append(case("unipc", 10, 3, n=500))
    # overrides: the config's shift and N are reused with the other solver's defaults
    cases.append(case("unipc", 10, 5, config_as="euler"))
    cases.append(case("dpm++", 10, 5, config_as="unipc"))
    cases.append(case("euler", 10, 3, config_as="dpm++"))
    out = {
        "generator": "test/schedulers/reference/scheduler_reference.py (numpy %s)" % np.__version__,
        "toy": {"M": TOY_M.tolist(), "c": TOY_C.tolist(), "d": TOY_D.tolist(), "x": TOY_X.tolist(),
                "velocity": "float32(M @ x + sigma * c + d), x float32, computed in float64"},
        "hand_checks": hand_checks(),
        "cases": cases,
    }
    path = os.path.join(HERE, "schedulers.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %d cases to %s" % (len(cases), path))


if __name__ == "__main__":
    main()
