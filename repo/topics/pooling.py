"""Inverse-variance pooling of per-trial log-scale estimates: fixed effect and random effects.

The fixed effect, Cochran's Q and the DerSimonian-Laird random effects come from statsmodels'
``combine_effects``. statsmodels has no REML estimator of the between-trial variance (its
"iterated" method is Paule-Mandel's), so REML is fitted here by Fisher scoring on the restricted
likelihood's score equation, as metafor does (Viechtbauer 2005). statsmodels leaves a negative
DerSimonian-Laird estimate and a negative I² as they fall; both are truncated at zero here, as the
method defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

Z = NormalDist().inv_cdf(0.975)  # 95% intervals
DL = "DerSimonian-Laird"
REML = "REML"


@dataclass(frozen=True)
class Pooled:
    """A pooled log-scale estimate with its standard error and 95% interval."""

    estimate: float
    se: float

    @property
    def ci_low(self) -> float:
        return self.estimate - Z * self.se

    @property
    def ci_high(self) -> float:
        return self.estimate + Z * self.se

    def to_json(self) -> dict:
        return {"estimate": self.estimate, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high}


@dataclass(frozen=True)
class RandomEffects(Pooled):
    """A random-effects estimate, with the between-trial variance τ² and the heterogeneity it came with.

    ``i2`` and ``q_p`` are None with one trial, where heterogeneity is not defined."""

    tau2: float
    i2: float | None
    q: float
    q_p: float | None
    method: str

    def to_json(self) -> dict:
        return {**super().to_json(), "tau2": self.tau2, "i2": self.i2, "q": self.q, "q_p": self.q_p,
                "method": self.method}


@dataclass(frozen=True)
class Pooling:
    fixed: Pooled
    random: RandomEffects  # DerSimonian-Laird
    reml: RandomEffects


def pool(estimates: Sequence[float], ses: Sequence[float]) -> Pooling:
    """Fixed effect, DerSimonian-Laird and REML random effects of one or more trials' estimates."""
    y, v = np.asarray(estimates, float), np.asarray(ses, float) ** 2
    if len(y) == 1:  # one trial: it is its own pooled estimate, and heterogeneity is not defined
        fixed = Pooled(float(y[0]), float(np.sqrt(v[0])))
        return Pooling(fixed, _random(fixed, 0.0, None, 0.0, None, DL), _random(fixed, 0.0, None, 0.0, None, REML))
    from statsmodels.stats.meta_analysis import combine_effects

    with np.errstate(invalid="ignore"):  # a negative τ² (truncated below) gives NaN standard errors there
        result = combine_effects(y, v, method_re="dl")
    q, q_p = float(result.q), float(result.test_homogeneity().pvalue)
    i2 = max(0.0, (q - (len(y) - 1)) / q) if q > 0 else 0.0
    fixed = Pooled(float(result.mean_effect_fe), float(result.sd_eff_w_fe))
    if result.tau2 > 0:
        random = Pooled(float(result.mean_effect_re), float(result.sd_eff_w_re))
    else:
        random = fixed
    tau2_reml = reml_tau2(y, v, start=max(0.0, float(result.tau2)))
    return Pooling(fixed, _random(random, max(0.0, float(result.tau2)), i2, q, q_p, DL),
                   _random(weighted(y, v, tau2_reml), tau2_reml, i2, q, q_p, REML))


def weighted(y: np.ndarray, v: np.ndarray, tau2: float) -> Pooled:
    """The inverse-variance mean of ``y`` with weights 1 / (v + τ²)."""
    w = 1 / (v + tau2)
    return Pooled(float((w * y).sum() / w.sum()), float(np.sqrt(1 / w.sum())))


def reml_tau2(y: np.ndarray, v: np.ndarray, start: float = 0.0, tolerance: float = 1e-10,
              iterations: int = 200) -> float:
    """The REML estimate of τ² (at least 0), by Fisher scoring.

    With weights w = 1/(v + τ²) and P = W - w wᵀ / Σw, the restricted log likelihood's score in τ² is
    (yᵀPPy - tr P) / 2 and its expected information tr(PP) / 2; Py = w (y - μ̂). A step that would
    cross zero goes to zero, and the estimate stays there when the score at zero is negative. Should
    the scoring not settle, the restricted likelihood is maximised by a bounded search instead."""
    tau2 = start
    for _ in range(iterations):
        w = 1 / (v + tau2)
        total = w.sum()
        residual = w * (y - (w * y).sum() / total)
        trace_p = total - (w ** 2).sum() / total
        trace_pp = (w ** 2).sum() - 2 * (w ** 3).sum() / total + ((w ** 2).sum() / total) ** 2
        step = ((residual ** 2).sum() - trace_p) / trace_pp
        if tau2 + step <= 0:
            if tau2 == 0:
                return 0.0
            step = -tau2
        tau2 += step
        if abs(step) < tolerance * max(1.0, tau2):
            return float(tau2)
    return _reml_by_search(y, v)


def _reml_by_search(y: np.ndarray, v: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    def minus_restricted_log_likelihood(tau2: float) -> float:
        w = 1 / (v + tau2)
        mean = (w * y).sum() / w.sum()
        return 0.5 * (np.log(v + tau2).sum() + np.log(w.sum()) + (w * (y - mean) ** 2).sum())

    upper = 10 * (float(np.var(y)) + float(v.max()))
    found = minimize_scalar(minus_restricted_log_likelihood, bounds=(0.0, upper), method="bounded",
                            options={"xatol": 1e-12})
    return float(found.x)


def _random(pooled: Pooled, tau2: float, i2: float | None, q: float, q_p: float | None, method: str) -> RandomEffects:
    return RandomEffects(pooled.estimate, pooled.se, tau2, i2, q, q_p, method)
