"""Maximum likelihood in pure Python: Nelder-Mead and standard errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from domain.base import InvalidValue


def maximise(
    objective: Callable[[Sequence[float]], float],
    start: Sequence[float],
    *,
    scale: float,
    max_evaluations: int = 20_000,
) -> tuple[list[float], float, int, bool]:
    """Maximise ``objective`` by Nelder-Mead (Nelder & Mead 1965; coefficients 1, 2, ½, ½),
    restarting from the best vertex with a fresh simplex until a restart gains less than
    1e-9 · ``scale``. Converged when the simplex spans < 1e-9 in every coordinate and
    < 1e-10 · ``scale`` in value. Non-finite values count as -∞."""

    def f(x: Sequence[float]) -> float:
        try:
            value = -objective(x)
        except (ValueError, OverflowError, ZeroDivisionError, InvalidValue):
            return math.inf
        return value if math.isfinite(value) else math.inf

    evaluations = 0
    best_x = list(start)
    best_f = f(best_x)
    evaluations += 1
    converged = False
    step = 0.5
    while evaluations < max_evaluations:
        dims = len(best_x)
        simplex = [list(best_x)]
        for i in range(dims):
            vertex = list(best_x)
            vertex[i] += step
            simplex.append(vertex)
        values = [best_f] + [f(v) for v in simplex[1:]]
        evaluations += dims
        converged = False
        while evaluations < max_evaluations:
            order = sorted(range(dims + 1), key=values.__getitem__)
            simplex = [simplex[i] for i in order]
            values = [values[i] for i in order]
            spread = max(
                abs(c - b) for v in simplex[1:] for c, b in zip(v, simplex[0], strict=True)
            )
            if spread < 1e-9 and values[-1] - values[0] < 1e-10 * scale:
                converged = True
                break
            centroid = [sum(v[i] for v in simplex[:-1]) / dims for i in range(dims)]
            worst = simplex[-1]

            def towards(
                coefficient: float, centroid: list[float] = centroid, worst: list[float] = worst
            ) -> list[float]:
                return [c + coefficient * (c - w) for c, w in zip(centroid, worst, strict=True)]

            reflected = towards(1.0)
            f_reflected = f(reflected)
            evaluations += 1
            if f_reflected < values[0]:
                expanded = towards(2.0)
                f_expanded = f(expanded)
                evaluations += 1
                if f_expanded < f_reflected:
                    simplex[-1], values[-1] = expanded, f_expanded
                else:
                    simplex[-1], values[-1] = reflected, f_reflected
                continue
            if f_reflected < values[-2]:
                simplex[-1], values[-1] = reflected, f_reflected
                continue
            if f_reflected < values[-1]:
                contracted = towards(0.5)  # outside
                f_contracted = f(contracted)
                accept = f_contracted <= f_reflected
            else:
                contracted = towards(-0.5)  # inside
                f_contracted = f(contracted)
                accept = f_contracted < values[-1]
            evaluations += 1
            if accept:
                simplex[-1], values[-1] = contracted, f_contracted
                continue
            for i in range(1, dims + 1):  # shrink towards the best vertex
                simplex[i] = [
                    b + 0.5 * (c - b) for c, b in zip(simplex[i], simplex[0], strict=True)
                ]
                values[i] = f(simplex[i])
            evaluations += dims
        gain = best_f - values[0]
        best_x, best_f = simplex[0], values[0]
        if converged and gain < 1e-9 * scale:
            break
        step = 0.05
    return best_x, -best_f, evaluations, converged


def standard_errors(
    objective: Callable[[Sequence[float]], float], theta: Sequence[float], h: float = 1e-3
) -> list[float] | None:
    """Standard errors of exp(θ) at the maximum θ of the log-likelihood ``objective`` of
    θ = ln(params): the inverse of the observed information -∇²ℓ(θ) (central differences,
    step h) is the covariance of θ, and the delta method gives se(e^θᵢ) = e^θᵢ · se(θᵢ).
    None when the information is not positive definite."""
    n = len(theta)

    def at(*moves: tuple[int, float]) -> float:
        point = list(theta)
        for i, move in moves:
            point[i] += move
        return objective(point)

    centre = at()
    information = [[0.0] * n for _ in range(n)]
    for i in range(n):
        information[i][i] = -(at((i, h)) - 2 * centre + at((i, -h))) / h**2
        for j in range(i):
            mixed = (
                at((i, h), (j, h))
                - at((i, h), (j, -h))
                - at((i, -h), (j, h))
                + at((i, -h), (j, -h))
            ) / (4 * h**2)
            information[i][j] = information[j][i] = -mixed
    covariance = _invert(information)
    if covariance is None or any(covariance[i][i] <= 0 for i in range(n)):
        return None
    return [math.exp(theta[i]) * math.sqrt(covariance[i][i]) for i in range(n)]


def _invert(matrix: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan inverse with partial pivoting; None when singular."""
    n = len(matrix)
    rows = [list(row) + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda i: abs(rows[i][col]))
        if abs(rows[pivot][col]) < 1e-300:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [v / lead for v in rows[col]]
        for i in range(n):
            if i != col and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [v - factor * w for v, w in zip(rows[i], rows[col], strict=True)]
    return [row[n:] for row in rows]
